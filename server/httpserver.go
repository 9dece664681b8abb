package server

import (
	"net/http"
	"time"
)

// Connection limits of the http.Server, where Options leaves them zero.
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = 60 * time.Second
	defaultIdleTimeout       = 120 * time.Second
	defaultMaxHeaderBytes    = 64 << 10
)

// httpServer returns the http.Server that serves h under the connection
// limits of o: the time to read a request's headers and the whole
// request, to write the response, to wait on an idle keep-alive
// connection, and the size of the headers.
func (o Options) httpServer(h http.Handler) *http.Server {
	read := o.ReadTimeout
	if read <= 0 {
		read = defaultReadTimeout
	}
	write := o.WriteTimeout
	if write <= 0 {
		write = max(defaultWriteTimeout, 2*o.RequestTimeout)
	}
	idle := o.IdleTimeout
	if idle <= 0 {
		idle = defaultIdleTimeout
	}
	header := o.MaxHeaderBytes
	if header <= 0 {
		header = defaultMaxHeaderBytes
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(defaultReadHeaderTimeout, read),
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       idle,
		MaxHeaderBytes:    header,
	}
}
