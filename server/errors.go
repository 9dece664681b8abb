package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"lander/changes"
	"lander/datadir"
	"lander/store"
)

// apiError is an error with its HTTP status and contract code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func errBadRequest(msg string) error { return &apiError{http.StatusBadRequest, "bad_request", msg} }
func errNotFound(msg string) error   { return &apiError{http.StatusNotFound, "not_found", msg} }
func errUnauthorized(msg string) error {
	return &apiError{http.StatusUnauthorized, "unauthorized", msg}
}

// errUnprocessable is a request that its schema admits but that cannot be
// carried out: an id not in the index, an id both pinned and excluded, a
// key not in the vocabulary.
func errUnprocessable(msg string) error {
	return &apiError{http.StatusUnprocessableEntity, "unprocessable", msg}
}
func errForbidden(msg string) error { return &apiError{http.StatusForbidden, "forbidden", msg} }
func errTooLarge(msg string) error {
	return &apiError{http.StatusRequestEntityTooLarge, "too_large", msg}
}

// isNotFound reports whether err is a not-found error.
func isNotFound(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.status == http.StatusNotFound
}

var errNoIndex = &apiError{http.StatusServiceUnavailable, "not_ready", "no index is loaded"}

// fail writes err in the contract's error form.
func (s *Server) fail(c *gin.Context, err error) {
	ae := s.classify(c, err)
	c.AbortWithStatusJSON(ae.status, gin.H{"error": gin.H{"code": ae.code, "message": ae.message}})
}

// classify maps err to its status, code and message, logging the errors
// that are not the client's. It is the one place where errors become HTTP
// statuses: fail writes its verdict as JSON, failPage as an HTML page.
func (s *Server) classify(c *gin.Context, err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, changes.ErrNoGeneration), errors.Is(err, changes.ErrNoPrevious):
		ae = &apiError{http.StatusNotFound, "not_found", historyMessage(err)}
	case errors.Is(err, datadir.ErrNoIndex):
		ae = errNoIndex
	case errors.Is(err, store.ErrUnavailable):
		// A backend down is not the request's fault, and passes: 503, so
		// that clients and balancers retry.
		s.log.Warn("request failed: backend unavailable", "path", c.Request.URL.Path, "err", err)
		ae = &apiError{http.StatusServiceUnavailable, "unavailable", "a backend is unavailable; try again shortly"}
	case errors.Is(err, context.Canceled):
		ae = &apiError{499, "canceled", "request canceled"}
	case errors.Is(err, context.DeadlineExceeded):
		ae = &apiError{http.StatusGatewayTimeout, "timeout", "request timed out"}
	default:
		s.log.Error("request failed", "path", c.Request.URL.Path, "err", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error"}
	}
	return ae
}
