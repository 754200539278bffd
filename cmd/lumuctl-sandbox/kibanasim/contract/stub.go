//go:build !kinopenapi

package contract

import (
	"errors"
	"net/http"
)

// ErrNotBuilt is returned by Load when the package was built without the
// kinopenapi build tag. The repository's go.mod does not yet list the
// modules kin-openapi itself requires (go.yaml.in/yaml/v4,
// github.com/go-openapi/jsonpointer, github.com/go-openapi/swag/jsonname,
// github.com/santhosh-tekuri/jsonschema/v6), so the validator is compiled
// only with -tags kinopenapi and a go.mod that has them.
var ErrNotBuilt = errors.New("contract: built without -tags kinopenapi (go.mod lacks kin-openapi's own requirements); the OpenAPI check is unavailable")

// Violation is one mismatch between observed traffic and the schema.
type Violation struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Operation string `json:"operation,omitempty"`
	Phase     string `json:"phase"`
	Status    int    `json:"status,omitempty"`
	Message   string `json:"message"`
}

// Checker is unavailable in this build; see ErrNotBuilt.
type Checker struct{}

// Load always fails in this build; see ErrNotBuilt.
func Load() (*Checker, error) { return nil, ErrNotBuilt }

// Middleware returns next unchanged.
func (c *Checker) Middleware(next http.Handler) http.Handler { return next }

// Violations is always empty in this build.
func (c *Checker) Violations() []Violation { return nil }

// Gaps is always empty in this build.
func (c *Checker) Gaps() []Violation { return nil }
