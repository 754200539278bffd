package netx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCause(t *testing.T) {
	// A port nobody listens on: take one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	_, refused := http.Get(closed)

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	_, timeout := (&http.Client{Timeout: 50 * time.Millisecond}).Get(slow.URL)

	dns := &net.DNSError{Err: "no such host", Name: "nope.invalid", IsNotFound: true}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"refused", refused, "connection refused"},
		{"timeout", timeout, "timed out"},
		{"deadline", context.DeadlineExceeded, "timed out"},
		{"dns", &wrapped{dns}, "host name nope.invalid does not resolve (no such host)"},
		{"dns server failure", &net.DNSError{Err: "server misbehaving", Name: "x.example"}, "host name x.example does not resolve (server misbehaving)"},
		{"other", errors.New("tls: bad certificate"), "tls: bad certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error to describe")
			}
			if got := Cause(tt.err); got != tt.want {
				t.Errorf("Cause(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
	if _, ok := DNSError(&wrapped{dns}); !ok {
		t.Error("DNSError did not find a wrapped *net.DNSError")
	}
	if _, ok := DNSError(refused); ok || strings.Contains(Cause(refused), "resolve") {
		t.Error("a refused connection is not a DNS error")
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "Get x: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }
