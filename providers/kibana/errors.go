package kibana

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// APIError is a Kibana answer other than success. It unwraps to the
// provider sentinel that matches the status (ErrUnauthorized for 401,
// ErrForbidden for 403, ErrNotFound for 404, ErrConflict for 409), or to
// nothing for other statuses. Its text names the Kibana, the endpoint and the
// status, never the API key.
type APIError struct {
	Kibana     string // configuration label
	URL        string // scheme://host:port/base-path (with the space), see provider.Origin
	Method     string
	Endpoint   string // API path below URL, no query
	StatusCode int
	Message    string // Kibana's message, as decoded from either envelope
	Hint       string // what to do about it; may be empty
	Attempts   int    // requests sent, > 1 when retried
	kind       error
}

// Error names the kibana block, its URL, the request and the status:
//
//	Kibana rejected the API key of kibana "main" (https://k.example:9243, GET /api/exception_lists: 401)
//	kibana "main" (https://k.example:9243, GET /api/exception_lists: 503 Service Unavailable): ...
func (e *APIError) Error() string {
	var b strings.Builder
	switch e.StatusCode {
	case http.StatusUnauthorized:
		fmt.Fprintf(&b, "Kibana rejected the API key of kibana %q (%s, %s %s: 401)", e.Kibana, e.URL, e.Method, e.Endpoint)
	default:
		fmt.Fprintf(&b, "kibana %q (%s, %s %s: %d %s)", e.Kibana, e.URL, e.Method, e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, ". %s", e.Hint)
	}
	return b.String()
}

// Unwrap returns the provider sentinel for the status, if any.
func (e *APIError) Unwrap() error { return e.kind }

// envelope holds the fields of both Kibana error envelopes: SIEM
// {message,status_code} and Boom {statusCode,error,message}. message may be
// a string or an array of strings.
type envelope struct {
	Message    json.RawMessage `json:"message"`
	StatusCode int             `json:"status_code"`
	BoomStatus int             `json:"statusCode"`
	Error      string          `json:"error"`
}

// decodeMessage extracts the message of an error body, or a short excerpt
// of a body that is not a Kibana envelope. Control characters are replaced
// by spaces whatever the body: the message reaches a terminal.
func decodeMessage(body []byte) string {
	var env envelope
	if err := json.Unmarshal(body, &env); err == nil && len(env.Message) > 0 {
		var s string
		if json.Unmarshal(env.Message, &s) == nil {
			return stripControl(s)
		}
		var ss []string
		if json.Unmarshal(env.Message, &ss) == nil {
			return stripControl(strings.Join(ss, "; "))
		}
		return stripControl(string(env.Message))
	} else if err == nil && env.Error != "" {
		return stripControl(env.Error)
	}
	s := stripControl(strings.TrimSpace(string(body)))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// stripControl replaces C0 and C1 control characters and DEL with spaces
// (ESC and U+009B start terminal escape sequences).
func stripControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// reqInfo describes the request an error answered, for choosing a hint.
type reqInfo struct {
	method string
	path   string // API path without base/space, e.g. /api/exception_lists/items
	global bool   // the item written carries policy:all
	item   bool   // the request writes an item (create or update)
}

// newAPIError maps a non-success answer to an *APIError.
func (c *Client) newAPIError(ri reqInfo, status int, body []byte, attempts int) *APIError {
	msg := c.scrub(decodeMessage(body))
	if shape := answerShape(status, body, http.Header{}); strings.HasPrefix(shape, "an HTML page") {
		// Kibana's API answers JSON; an HTML error page comes from a proxy
		// or from something that is not Kibana's API at this url.
		msg = c.scrub(shape) + ", not Kibana's API (check url = " + strconv.Quote(c.base.String()) + ")"
	}
	e := &APIError{
		Kibana:     c.name,
		URL:        c.origin,
		Method:     ri.method,
		Endpoint:   ri.path,
		StatusCode: status,
		Message:    msg,
		Attempts:   attempts,
	}
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusUnauthorized:
		e.kind = provider.ErrUnauthorized
		e.Hint = "Check api_key: it must be the base64 \"encoded\" value of an Elasticsearch API key that is neither expired nor invalidated"
	case status == http.StatusForbidden:
		e.kind = provider.ErrForbidden
		e.Hint = c.forbiddenHint(ri, lower)
	case status == http.StatusNotFound:
		e.kind = provider.ErrNotFound
		if strings.Contains(msg, ListID) && strings.Contains(lower, "does not exist") {
			e.Hint = "The endpoint_blocklists list does not exist yet; apply creates it"
		}
	case status == http.StatusConflict:
		e.kind = provider.ErrConflict
		if ri.method == http.MethodPut {
			e.Hint = "The item changed in Kibana since it was read (_version mismatch); run plan again"
		}
	case status == http.StatusBadRequest:
		switch {
		case strings.Contains(msg, "EndpointArtifactError"):
			e.Hint = "Kibana's blocklist validation rejected the item"
		case strings.Contains(lower, "kbn-xsrf"):
			e.Hint = "A proxy between lumuctl and Kibana may strip the kbn-xsrf header"
		case strings.Contains(lower, "exceed max size"):
			e.Hint = "The endpoint_blocklists list holds at most 10,000 items; raise max_values_per_item or block fewer hashes"
		}
	case status == http.StatusRequestEntityTooLarge:
		e.Hint = "The request exceeds Kibana's server.maxPayload (1 MiB by default); lower max_values_per_item"
	case status >= 500:
		e.Hint = "Kibana or a proxy in front of it failed; try again later"
	}
	return e
}

func (c *Client) forbiddenHint(ri reqInfo, lowerMsg string) string {
	space := c.space
	if space == "" {
		space = "default"
	}
	switch {
	case strings.Contains(lowerMsg, "license"):
		return "Blocklist items assigned to specific policies need a Platinum (or higher) license; use policies = [\"all\"] or upgrade the license"
	case strings.Contains(lowerMsg, "global artifact"), strings.Contains(lowerMsg, "ownerspaceid"):
		return "On Kibana 9.1+ writing policy:all items or changing ownerSpaceId tags needs the \"Global Artifact Management\" privilege (Security > Global Artifact Management: All) for the API key's user"
	case strings.HasPrefix(ri.path, "/api/fleet"):
		return fmt.Sprintf("The API key's user needs Fleet and Integrations read privileges in space %q", space)
	case ri.method == http.MethodGet || ri.method == http.MethodHead:
		return fmt.Sprintf("The API key's user needs the Kibana privilege Security > Blocklist: Read (or All) in space %q", space)
	case ri.item && ri.global:
		return fmt.Sprintf("The API key's user needs Security > Blocklist: All in space %q; on Kibana 9.1+ policy:all items also need Security > Global Artifact Management: All", space)
	default:
		return fmt.Sprintf("The API key's user needs the Kibana privilege Security > Blocklist: All in space %q", space)
	}
}

// scrub removes the API key from s. Kibana never echoes it, but messages of
// proxies and transports are not under our control.
func (c *Client) scrub(s string) string {
	if len(c.apiKey) >= 8 {
		s = strings.ReplaceAll(s, c.apiKey, "[REDACTED]")
	}
	return s
}

// transportError is a request that got no HTTP answer (after retries).
type transportError struct {
	kibana   string
	origin   string // see provider.Origin
	method   string
	path     string // API path below origin
	attempts int
	msg      string
	err      error
}

func (e *transportError) Error() string {
	s := fmt.Sprintf("kibana %q (%s, %s %s): %s", e.kibana, e.origin, e.method, e.path, e.msg)
	if e.attempts > 1 {
		s += fmt.Sprintf(" (after %d attempts)", e.attempts)
	}
	return s
}

func (e *transportError) Unwrap() error { return e.err }
