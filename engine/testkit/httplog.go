package testkit

import (
	"slices"
	"sync"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// HTTPLog is a provider.HTTPLog that keeps what it is told. It is safe for
// concurrent use.
type HTTPLog struct {
	mu       sync.Mutex
	requests []provider.HTTPRequest
	retries  []provider.HTTPRetry
}

// Request implements provider.HTTPLog.
func (l *HTTPLog) Request(r provider.HTTPRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.requests = append(l.requests, r)
}

// Retry implements provider.HTTPLog.
func (l *HTTPLog) Retry(r provider.HTTPRetry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.retries = append(l.retries, r)
}

// Requests returns the requests logged so far.
func (l *HTTPLog) Requests() []provider.HTTPRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.requests)
}

// Retries returns the retries logged so far.
func (l *HTTPLog) Retries() []provider.HTTPRetry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.retries)
}
