package kibana

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"strings"
)

// This file checks that every answer comes from Kibana's exception-list
// API (SPEC 5). A url with a wrong base path, Elasticsearch's address or a
// proxy's does not fail loudly on its own: Kibana's router answers an
// unknown route with a generic 404, and a proxy may serve an HTML page with
// 200. Without this check such a 404 reads as "the endpoint_blocklists list
// does not exist", and plan offers to re-create everything.

// NotKibanaError is an answer that did not come from Kibana's
// exception-list API. It unwraps to nothing: in particular it is never
// provider.ErrNotFound, so no caller takes it for a missing list or item.
type NotKibanaError struct {
	Kibana   string // configuration label
	URL      string // the configured base URL (with /s/<space>), no query
	Method   string
	Endpoint string // URL path of the request
	Status   int
	What     string // what answered, e.g. `a generic 404 "Not Found"`
}

func (e *NotKibanaError) Error() string {
	return fmt.Sprintf("kibana %q: %s %s: the answer did not come from Kibana's exception-list API: %s (HTTP %d). "+
		"Check url = %q: it must be Kibana's base URL (including its server.basePath, if any), not Elasticsearch's, "+
		"Kibana's UI page or a proxy's error page", e.Kibana, e.Method, e.Endpoint, e.What, e.Status, e.URL)
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// checkOrigin returns a *NotKibanaError when a success or 404 answer to cl
// cannot be Kibana's: an HTML page, a body that is not JSON, or (on
// exception-list routes) a 404 that is not in the API's SIEM envelope. Fleet routes get the HTML/JSON checks only.
//
// Other error statuses keep their *APIError (which quotes the body): they
// fail the run whatever answered, and no caller reads them as "missing".
func (c *Client) checkOrigin(cl call, status int, body []byte, hdr http.Header) error {
	ok := status >= 200 && status < 300
	if !ok && status != http.StatusNotFound {
		return nil
	}
	what := answerShape(status, body, hdr)
	if what == "" && status == http.StatusNotFound && !cl.fleet {
		// The exception-list routes answer their 404s ("exception list
		// ... does not exist", the 9.1 validators' "Item not found in
		// space [x]") in the SIEM envelope {"message","status_code"}
		// (lists plugin routes/utils/build_siem_response.ts); Kibana's
		// router answers an unknown route in the Boom envelope, and a
		// proxy in its own.
		var env struct {
			Message    json.RawMessage `json:"message"`
			StatusCode int             `json:"status_code"`
		}
		if json.Unmarshal(body, &env) != nil || len(env.Message) == 0 || env.StatusCode != http.StatusNotFound {
			what = "a generic 404"
			if msg := decodeMessage(body); msg != "" {
				what += fmt.Sprintf(" %q", c.scrub(msg))
			}
			what += `, not an answer of the exception-list API`
		}
	}
	if what == "" {
		return nil
	}
	return &NotKibanaError{Kibana: c.name, URL: c.base.String(), Method: cl.method,
		Endpoint: c.base.Path + cl.path, Status: status, What: what}
}

// answerShape describes a body Kibana's API would never send: an HTML page
// (with its title), or a body that is not JSON. It returns "" for JSON.
func answerShape(status int, body []byte, hdr http.Header) string {
	ct := hdr.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ct)
	trimmed := bytes.TrimSpace(body)
	if media == "text/html" || bytes.HasPrefix(trimmed, []byte("<")) {
		what := "an HTML page"
		if m := htmlTitle.FindSubmatch(body); m != nil {
			title := stripControl(strings.Join(strings.Fields(string(m[1])), " "))
			if len(title) > 100 {
				title = title[:100] + "..."
			}
			what += fmt.Sprintf(" titled %q", title)
		}
		if status >= 500 {
			what += " (a proxy's error page?)"
		}
		return what
	}
	if status >= 200 && status < 300 {
		return "" // success bodies are judged by their decoders (any JSON syntax error is "decode")
	}
	if len(body) >= maxErrorBody {
		return "" // an error body cut at maxErrorBody: not judged by its syntax
	}
	if !json.Valid(trimmed) {
		what := "a body that is not JSON"
		if media != "" {
			what += " (" + stripControl(media) + ")"
		}
		if excerpt := stripControl(string(trimmed)); excerpt != "" {
			if len(excerpt) > 60 {
				excerpt = excerpt[:60] + "..."
			}
			what += fmt.Sprintf(": %q", excerpt)
		}
		return what
	}
	return ""
}
