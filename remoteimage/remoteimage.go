// Package remoteimage fetches catalog images over http(s) without letting
// a catalog turn the indexer into a way into the private network or a
// memory sink: every fetch has a deadline and a size cap, follows a few
// redirects at most, and may only connect to public addresses. The address
// is checked when the connection is dialled, after DNS resolution, so a
// name that resolves to a public address when checked and to a private one
// when used (DNS rebinding) is refused too; a redirect is dialled, and
// checked, like any other request.
package remoteimage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Errors wrapped by Fetch.
var (
	// ErrForbiddenAddress is a connection to a loopback, private,
	// link-local (cloud metadata), multicast or reserved address.
	ErrForbiddenAddress = errors.New("address not allowed")
	// ErrTooLarge is a body over Options.MaxBytes.
	ErrTooLarge = errors.New("image too large")
	// ErrTooManyRedirects is a chain of more than Options.MaxRedirects.
	ErrTooManyRedirects = errors.New("too many redirects")
)

// Options configure New.
type Options struct {
	// Timeout bounds a whole fetch, redirects and body included; 0 means
	// 20 seconds.
	Timeout time.Duration
	// MaxBytes caps the body; 0 means 32 MiB.
	MaxBytes int64
	// MaxRedirects is how many redirects a fetch follows; 0 means 3, a
	// negative number none.
	MaxRedirects int
	// AllowLoopback admits loopback addresses, for tests that serve images
	// with httptest. Nothing else should set it.
	AllowLoopback bool
}

// Fetcher fetches images. It is safe for concurrent use.
type Fetcher struct {
	client *http.Client
	max    int64
}

// New returns a Fetcher with its own transport: no proxy from the
// environment (the checks would apply to the proxy, not the image host),
// and timeouts on dialling, the TLS handshake and the response header.
func New(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = 20 * time.Second
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 32 << 20
	}
	switch {
	case opts.MaxRedirects == 0:
		opts.MaxRedirects = 3
	case opts.MaxRedirects < 0:
		opts.MaxRedirects = 0
	}
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error { return checkAddress(address, opts.AllowLoopback) },
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	max := opts.MaxRedirects
	client := &http.Client{
		Transport: tr,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > max {
				return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, max)
			}
			if s := req.URL.Scheme; s != "http" && s != "https" {
				return fmt.Errorf("redirect to a %s URL", s)
			}
			return nil
		},
	}
	return &Fetcher{client: client, max: opts.MaxBytes}
}

// Fetch returns the body of a 200 answer to GET rawURL, an http or https
// URL.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("fetch image: %w", err)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return nil, fmt.Errorf("fetch image %s: not an http(s) URL", rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch image: %w", err)
	}
	req.Header.Set("Accept", "image/jpeg, image/png, image/webp")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch image: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch image %s: status %s", rawURL, resp.Status)
	}
	if resp.ContentLength > f.max {
		return nil, fmt.Errorf("fetch image %s: %w: %d bytes, more than %d", rawURL, ErrTooLarge, resp.ContentLength, f.max)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.max+1))
	if err != nil {
		return nil, fmt.Errorf("fetch image %s: %w", rawURL, err)
	}
	if int64(len(b)) > f.max {
		return nil, fmt.Errorf("fetch image %s: %w: more than %d bytes", rawURL, ErrTooLarge, f.max)
	}
	return b, nil
}

// blocked are ranges that are not public beyond what netip's predicates
// cover: "this network", shared address space (carrier NAT, and some
// clouds' metadata), IETF protocol assignments, benchmarking, reserved,
// NAT64 and IPv4-compatible IPv6 (both can reach IPv4 private hosts) and
// documentation.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// checkAddress refuses a dial to host:port unless host is a public
// address (or loopback, when allowed).
func checkAddress(address string, allowLoopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an IP address", ErrForbiddenAddress, host)
	}
	if !Public(ip, allowLoopback) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
	}
	return nil
}

// Public reports whether ip is a public unicast address that fetches may
// connect to; loopback counts when allowLoopback is set.
func Public(ip netip.Addr, allowLoopback bool) bool {
	ip = ip.Unmap().WithZone("")
	switch {
	case ip.IsLoopback():
		return allowLoopback
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast(), ip.IsMulticast():
		return false
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
