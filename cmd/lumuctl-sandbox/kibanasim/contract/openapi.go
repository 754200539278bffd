package contract

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// contractYAML is the contract: the exception-list operations lumuctl
// uses, written for lumuctl from the facts of Kibana's OpenAPI source
// schemas (see the header of the file for sources and Kibana version).
//
//go:embed exception_lists.yaml
var contractYAML []byte

// Uncovered are the routes the stand-in serves that the contract does not
// describe; the Checker skips them explicitly (see Skipped).
var Uncovered = []string{
	"GET /api/exception_lists/summary",  // ReadExceptionListSummary: lumuctl does not use it
	"DELETE /api/exception_lists",       // DeleteExceptionList: lumuctl never deletes the list
	"GET /api/fleet/package_policies",   // Fleet: not part of the exceptions API
	"GET /api/fleet/package_policies/*", // Fleet
}

// Violation is one mismatch between observed traffic and the schema.
type Violation struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Operation string `json:"operation,omitempty"`
	Phase     string `json:"phase"` // "request", "response" or "route"
	Status    int    `json:"status,omitempty"`
	Message   string `json:"message"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s %s (%s) %s %d: %s", v.Method, v.Path, v.Operation, v.Phase, v.Status, v.Message)
}

type operation struct {
	body   *openapi3.Schema // request body schema (first variant of a oneOf), for precise messages
	doc    *openapi3.T
	path   string
	method string
	op     *openapi3.Operation
	item   *openapi3.PathItem
}

// Checker validates traffic against the loaded schemas. It is safe for
// concurrent use.
type Checker struct {
	ops map[string]*operation // "METHOD /path"

	mu         sync.Mutex
	violations []Violation
	gaps       []Violation
	checked    map[string]int
	skipped    map[string]int
}

// Load parses the contract embedded in the package.
func Load() (*Checker, error) {
	return LoadData(contractYAML)
}

// LoadData parses an OpenAPI document holding the covered operations.
func LoadData(data []byte) (*Checker, error) {
	c := &Checker{ops: map[string]*operation{}, checked: map[string]int{}, skipped: map[string]int{}}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("contract: loading: %w", err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("contract: not a valid OpenAPI document: %w", err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			body := relaxRequestOneOf(op)
			c.ops[method+" "+path] = &operation{doc: doc, path: path, method: method, op: op, item: item, body: body}
		}
	}
	return c, nil
}

// relaxRequestOneOf turns a top-level oneOf of a request body into anyOf
// and returns the schema whose errors explain a refused body: the body
// schema itself, or the first (generic) variant of a oneOf. Kibana
// validates these bodies with a zod union, which takes the first variant
// that parses; newer Kibana publishes per-artifact variants that a
// blocklist body also matches, so "exactly one" would reject every valid
// request. The embedded contract has no oneOf; this keeps LoadData right
// for documents that do.
func relaxRequestOneOf(op *openapi3.Operation) *openapi3.Schema {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	var body *openapi3.Schema
	for _, mt := range op.RequestBody.Value.Content {
		if mt.Schema == nil || mt.Schema.Value == nil {
			continue
		}
		if len(mt.Schema.Value.OneOf) == 0 {
			body = mt.Schema.Value
			continue
		}
		s := *mt.Schema.Value
		s.AnyOf, s.OneOf = s.OneOf, nil
		mt.Schema = &openapi3.SchemaRef{Value: &s}
		body = s.AnyOf[0].Value
	}
	return body
}

// KnownGaps are statuses real Kibana answers on a route that its schema
// does not list (reference/kibana-blocklist-api.md §1.7). They are recorded
// as gaps, not violations; their bodies are not checked.
var KnownGaps = map[string][]int{
	"PUT /api/exception_lists/items":  {409, 413, 415}, // 409: stale _version
	"POST /api/exception_lists/items": {413, 415},
}

// Operations lists the covered routes ("METHOD /path"), sorted.
func (c *Checker) Operations() []string {
	out := make([]string, 0, len(c.ops))
	for k := range c.ops {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var spacePrefix = regexp.MustCompile(`^/s/[a-z0-9_-]+(/.*)$`)

func (c *Checker) route(method, path string) *operation {
	if m := spacePrefix.FindStringSubmatch(path); m != nil {
		path = m[1]
	}
	return c.ops[method+" "+strings.TrimSuffix(path, "/")]
}

// teeWriter passes the response through and keeps a copy.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Middleware wraps next so that every request and response is validated.
// Requests to routes the schemas do not cover are passed through and
// counted as skipped. The request body next sees is the one the client
// sent (defaults from the schema are not applied).
func (c *Checker) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		op := c.route(r.Method, r.URL.Path)
		if op == nil {
			c.count(c.skipped, key)
			next.ServeHTTP(w, r)
			return
		}
		c.count(c.checked, op.method+" "+op.path)
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				c.record(Violation{Method: r.Method, Path: r.URL.Path, Operation: op.op.OperationID, Phase: "request", Message: "reading body: " + err.Error()})
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		vr := r.Clone(r.Context())
		vr.URL.Path = op.path
		vr.Body = io.NopCloser(bytes.NewReader(body))
		input := &openapi3filter.RequestValidationInput{
			Request: vr,
			Route:   &routers.Route{Spec: op.doc, Path: op.path, PathItem: op.item, Method: op.method, Operation: op.op},
			Options: &openapi3filter.Options{
				MultiError:          true,
				SkipSettingDefaults: true,
				AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			},
		}
		if err := openapi3filter.ValidateRequest(r.Context(), input); err != nil {
			c.recordErr(r, op, "request", 0, err)
			c.explainBody(r, op, body)
		}
		tw := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		if tw.status == 0 {
			return // connection hijacked or nothing written
		}
		if slices.Contains(KnownGaps[op.method+" "+op.path], tw.status) {
			c.mu.Lock()
			c.gaps = append(c.gaps, Violation{Method: r.Method, Path: r.URL.Path, Operation: op.op.OperationID, Phase: "response", Status: tw.status, Message: "status not in the schema (known gap)"})
			c.mu.Unlock()
			return
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input,
			Status:                 tw.status,
			Header:                 tw.Header(),
			Options:                &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true},
		}
		out.SetBodyBytes(tw.body.Bytes())
		if err := openapi3filter.ValidateResponse(r.Context(), out); err != nil {
			c.recordErr(r, op, "response", tw.status, err)
		}
	})
}

// explainBody adds the errors of the body schema (or its generic variant),
// which name the offending field, when the request failed validation.
func (c *Checker) explainBody(r *http.Request, op *operation, body []byte) {
	if op.body == nil || len(body) == 0 {
		return
	}
	var v any
	if json.Unmarshal(body, &v) != nil {
		return
	}
	if err := op.body.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		var me openapi3.MultiError
		errs := []error{err}
		if errors.As(err, &me) {
			errs = me
		}
		for _, e := range errs {
			msg := e.Error()
			var se *openapi3.SchemaError
			if errors.As(e, &se) {
				msg = fmt.Sprintf("body%s: %s", pointer(se.JSONPointer()), se.Reason)
			}
			c.record(Violation{Method: r.Method, Path: r.URL.Path, Operation: op.op.OperationID, Phase: "request", Message: "body detail: " + oneLine(msg)})
		}
	}
}

func pointer(p []string) string {
	if len(p) == 0 {
		return ""
	}
	return "." + strings.Join(p, ".")
}

// Gaps returns the answers whose status the schema does not document but
// real Kibana uses (see KnownGaps).
func (c *Checker) Gaps() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.gaps)
}

func (c *Checker) count(m map[string]int, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m[key]++
}

func (c *Checker) recordErr(r *http.Request, op *operation, phase string, status int, err error) {
	var me openapi3.MultiError
	errs := []error{err}
	if errors.As(err, &me) {
		errs = me
	}
	for _, e := range errs {
		c.record(Violation{Method: r.Method, Path: r.URL.Path, Operation: op.op.OperationID, Phase: phase, Status: status, Message: oneLine(e.Error())})
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

func (c *Checker) record(v Violation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violations = append(c.violations, v)
}

// Violations returns a copy of the violations recorded so far.
func (c *Checker) Violations() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.violations)
}

// Reset forgets recorded violations and counts.
func (c *Checker) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.violations = nil
	c.gaps = nil
	c.checked = map[string]int{}
	c.skipped = map[string]int{}
}

// Checked returns how many requests were validated, by covered operation.
func (c *Checker) Checked() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.checked))
	for k, v := range c.checked {
		out[k] = v
	}
	return out
}

// Skipped returns how many requests went to routes the schemas do not
// cover, by "METHOD path".
func (c *Checker) Skipped() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.skipped))
	for k, v := range c.skipped {
		out[k] = v
	}
	return out
}
