package provider

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// HTTPLog is told about the HTTP traffic of a provider client, so that the
// user sees what happens while lumuctl waits on the network: every attempt
// (logged at -v) and every retry (shown at the default level). It must be
// safe for concurrent use and must not block. Nothing passed to it holds a
// secret: providers remove keys before they call it.
type HTTPLog interface {
	// Request reports one attempt, answered or not.
	Request(HTTPRequest)
	// Retry reports that a failed attempt will be retried after a wait.
	Retry(HTTPRetry)
}

// HTTPRequest is one HTTP attempt.
type HTTPRequest struct {
	Client   string        // who sent it: Endpoint(...), e.g. `kibana "prod" (https://k.example:9243)`
	Method   string        // GET, POST, ...
	Path     string        // path below the client's URL, with a query free of secrets
	Status   int           // the answer's status; 0 when there was none
	Err      string        // why there was no answer (Status 0)
	Duration time.Duration // from sending to the end of the answer's body
	Attempt  int           // 1 for the first attempt
}

// HTTPRetry is a failed attempt about to be retried.
type HTTPRetry struct {
	Client   string        // as in HTTPRequest
	Cause    string        // what went wrong, e.g. "connection refused"
	Retry    int           // 1 for the first retry (the second attempt)
	Wait     time.Duration // until the retry is sent
	GiveUpIn time.Duration // retry budget left now; no retry starts after it
}

// String is the line shown to the user:
//
//	kibana "prod" (https://k.example:9243): connection refused; retry 3 in 8s, giving up in 1m40s
func (r HTTPRetry) String() string {
	return fmt.Sprintf("%s: %s; retry %d in %s, giving up in %s",
		r.Client, r.Cause, r.Retry, roundWait(r.Wait), roundWait(r.GiveUpIn))
}

// roundWait rounds d for people: whole seconds from 10s on, tenths below,
// milliseconds under a second.
func roundWait(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}

// Endpoint names a configured client and where it sends requests, for
// messages: `kibana "prod" (https://k.example:9243/base)`. The URL keeps
// the scheme, host, port (the scheme's default when none is written) and
// base path; user info, query and fragment are dropped, so no secret can
// leak through it.
func Endpoint(kind, name string, u *url.URL) string {
	return fmt.Sprintf("%s %q (%s)", kind, name, Origin(u))
}

// Origin is u reduced to scheme://host:port/base-path, the port always
// written (80 or 443 when u names none).
func Origin(u *url.URL) string {
	host := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		h := u.Hostname()
		if strings.Contains(h, ":") { // IPv6 literal
			h = "[" + h + "]"
		}
		host = h + ":" + port
	}
	return u.Scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}
