// Package netx describes network failures of the provider clients in words
// a user can act on, and says which of them are not worth retrying for long.
package netx

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"syscall"
)

// DNSAttempts is how many attempts a request gets when its host name does
// not resolve: one retry covers a resolver hiccup, and a name that is
// wrong stays wrong for the two minutes a full retry budget would take.
const DNSAttempts = 2

// DNSError returns the DNS failure inside err, if there is one.
func DNSError(err error) (*net.DNSError, bool) {
	var de *net.DNSError
	if errors.As(err, &de) {
		return de, true
	}
	return nil, false
}

// Cause is a short description of a transport error: "connection refused",
// "host name k.example does not resolve (no such host)", "timed out", or the
// error's own text without the *url.Error prefix (which repeats the method
// and the whole URL).
func Cause(err error) string {
	if de, ok := DNSError(err); ok {
		why := de.Err
		if de.IsNotFound {
			why = "no such host"
		}
		return "host name " + de.Name + " does not resolve (" + why + ")"
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timed out"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
