package server

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// RunBare serves body with contentType on every path of addr through a bare
// gin engine (no middleware, no cache, no rendering) until ctx ends: the
// baseline that the serving benchmark (scripts/bench-serve.sh) sets the
// real pages against. It has the connection limits of a Server with
// default Options, and reports the address it listens on to ready.
func RunBare(ctx context.Context, addr string, body []byte, contentType string, ready func(addr string)) error {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.NoRoute(func(c *gin.Context) { c.Data(http.StatusOK, contentType, body) })
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	return serveUntil(ctx, Options{}.httpServer(r), ln, 5*time.Second)
}
