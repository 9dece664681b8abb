package remoteimage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPublic(t *testing.T) {
	tests := []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true},
		{"2606:4700:4700::1111", true},
		{"127.0.0.1", false},
		{"::1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.100.100.200", false}, // shared address space (a metadata address too)
		{"fd00:ec2::254", false},   // AWS metadata over IPv6
		{"fe80::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::10.0.0.1", false},
		{"64:ff9b::a00:1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
	}
	for _, tt := range tests {
		if got := Public(netip.MustParseAddr(tt.ip), false); got != tt.want {
			t.Errorf("Public(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if !Public(netip.MustParseAddr("127.0.0.1"), true) || Public(netip.MustParseAddr("10.0.0.1"), true) {
		t.Error("AllowLoopback must admit loopback and nothing else")
	}
}

// server serves /ok (a small body), /big (declared too large), /stream
// (too large, no length), /slow (a trickled body), /hop/N (N redirects
// then /ok) and /meta (a redirect to the metadata address).
func server(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/ok":
			w.Write([]byte("image"))
		case p == "/big":
			w.Header().Set("Content-Length", "2000")
			w.Write(make([]byte, 2000))
		case p == "/stream":
			for range 20 {
				w.Write(make([]byte, 100))
				w.(http.Flusher).Flush()
			}
		case p == "/slow":
			for range 50 {
				w.Write([]byte("x"))
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		case strings.HasPrefix(p, "/hop/"):
			n := strings.TrimPrefix(p, "/hop/")
			if n == "0" {
				http.Redirect(w, r, "/ok", http.StatusFound)
				return
			}
			http.Redirect(w, r, "/hop/"+string(n[0]-1), http.StatusFound)
		case p == "/meta":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	srv := server(t)
	f := New(Options{AllowLoopback: true, MaxBytes: 1000, Timeout: 500 * time.Millisecond, MaxRedirects: 3})
	tests := []struct {
		path    string
		wantErr error // nil: success
		text    string
	}{
		{"/ok", nil, ""},
		{"/hop/2", nil, ""}, // three redirects
		{"/hop/3", ErrTooManyRedirects, ""},
		{"/big", ErrTooLarge, ""},
		{"/stream", ErrTooLarge, ""},
		{"/slow", nil, "Timeout"},
		{"/meta", ErrForbiddenAddress, ""},
		{"/missing", nil, "404"},
	}
	for _, tt := range tests {
		b, err := f.Fetch(context.Background(), srv.URL+tt.path)
		switch {
		case tt.wantErr == nil && tt.text == "":
			if err != nil || string(b) != "image" {
				t.Errorf("%s: %q, %v", tt.path, b, err)
			}
		case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
			t.Errorf("%s: %v, want %v", tt.path, err, tt.wantErr)
		case tt.text != "" && (err == nil || !strings.Contains(err.Error(), tt.text)):
			t.Errorf("%s: %v, want an error with %q", tt.path, err, tt.text)
		}
	}
}

// TestFetchRefusesLoopbackByName: without the test option, a host name
// that resolves to loopback is refused when dialled, and so is a literal
// private address; only http(s) URLs are fetched.
func TestFetchRefusesLoopbackByName(t *testing.T) {
	srv := server(t)
	f := New(Options{})
	for _, u := range []string{
		strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/ok",
		srv.URL + "/ok",
		"http://10.255.255.1/x.png",
	} {
		if _, err := f.Fetch(context.Background(), u); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("%s: %v, want ErrForbiddenAddress", u, err)
		}
	}
	if _, err := f.Fetch(context.Background(), "file:///etc/passwd"); err == nil {
		t.Error("file URL fetched")
	}
}
