package kibanasim

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

type (
	responseWriter = http.ResponseWriter
	request        = *http.Request
)

type httpHandlerFunc = http.HandlerFunc

func newServer(t *testing.T, h http.Handler) string {
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}
