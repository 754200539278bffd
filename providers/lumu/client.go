package lumu

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/providers/internal/netx"
)

// Defaults and bounds of the client.
const (
	// DefaultMaxBodyBytes bounds how much of one response is read.
	DefaultMaxBodyBytes = 64 << 20
	// PageSize is the page size asked of list endpoints (Lumu's maximum).
	PageSize = 100
	// DefaultMaxPages bounds how many pages one listing follows, so that a
	// server that never ends cannot keep lumuctl busy forever.
	DefaultMaxPages = 10000

	backoffBase = 500 * time.Millisecond
	backoffMax  = 30 * time.Second
	minRetryGap = 250 * time.Millisecond
	errBodyMax  = 64 << 10
	userAgent   = "lumuctl"
)

// SleepFunc waits for d or until ctx is done, whichever comes first, and
// returns ctx.Err() in the latter case.
type SleepFunc func(ctx context.Context, d time.Duration) error

// ClientConfig configures a Client. Only BaseURL and Key are required.
type ClientConfig struct {
	BaseURL string
	// Key is the company's Defender API key. It is sent as the key query
	// parameter and never appears in an error.
	Key string
	// Company is the configuration label named in errors (company "NAME").
	Company string
	// HTTPClient defaults to a client with a 60s timeout.
	HTTPClient *http.Client
	// Limiter is the per-key budget; nil means unlimited.
	Limiter *rate.Limiter
	// RetryTimeout bounds the retries of one request (provider.DefaultRetryTimeout).
	RetryTimeout time.Duration
	// Now, Sleep and Jitter (a float in [0,1)) are injected by tests.
	Now    func() time.Time
	Sleep  SleepFunc
	Jitter func() float64
	// MaxBodyBytes bounds a response body (DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxPages bounds a listing (DefaultMaxPages).
	MaxPages int
	// Progress receives rate-limit and retry waits; may be nil.
	Progress func(kind provider.ProgressKind, wait time.Duration, detail string)
	// HTTPLog is told about every attempt and every retry; may be nil.
	HTTPLog provider.HTTPLog
	// Quota is called before every attempt (each one counts against
	// Lumu's daily quota); an error stops the request unsent. May be nil.
	Quota func(ctx context.Context) error
}

// Client talks to the classic Lumu Defender API of one company. It is safe
// for concurrent use.
type Client struct {
	cfg    ClientConfig
	base   *url.URL
	origin string // base for messages: provider.Origin(base)
	label  string // `company "NAME" (origin)`
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = provider.DefaultLumuAPIURL
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("company %q: api_url %q is not an http(s) URL", cfg.Company, Scrub(cfg.BaseURL))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("company %q: api_url %q must not have a query or fragment", cfg.Company, Scrub(cfg.BaseURL))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	if cfg.Key == "" {
		return nil, fmt.Errorf("company %q: the Defender API key is empty", cfg.Company)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	// Never follow a redirect, whoever built the http.Client: the key is a
	// query parameter, so Go would send it to the other host in Referer,
	// and a 302 turns the POST of a listing into a GET whose answer would
	// be believed. A 3xx is an error (see once).
	hc := *cfg.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cfg.HTTPClient = &hc
	if cfg.RetryTimeout <= 0 {
		cfg.RetryTimeout = provider.DefaultRetryTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = provider.Sleep
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	return &Client{cfg: cfg, base: u, origin: provider.Origin(u), label: provider.Endpoint("company", cfg.Company, u)}, nil
}

// ListQuery selects incidents for POST /api/incidents/all.
type ListQuery struct {
	From, To       time.Time
	Statuses       []string
	AdversaryTypes []string
	Labels         []int
}

// listBody is the JSON body of POST /api/incidents/all.
type listBody struct {
	FromDate       string   `json:"fromDate,omitempty"`
	ToDate         string   `json:"toDate,omitempty"`
	Status         []string `json:"status,omitempty"`
	AdversaryTypes []string `json:"adversary-types,omitempty"`
	Labels         []int    `json:"labels,omitempty"`
}

// lumuDate formats t as Lumu expects request dates: UTC, milliseconds.
func lumuDate(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ListResult is what ListIncidents found.
type ListResult struct {
	// Incidents in the order Lumu listed them, without duplicates (an
	// incident seen on two pages, because the list moved, is kept once).
	Incidents []Incident
	Pages     int
}

// ListIncidents reads every page of POST /api/incidents/all for q,
// following paginationInfo.next. onPage (may be nil) is called after each
// page with the number of incidents so far.
func (c *Client) ListIncidents(ctx context.Context, q ListQuery, onPage func(incidents int)) (ListResult, error) {
	b := listBody{Status: q.Statuses, AdversaryTypes: q.AdversaryTypes, Labels: q.Labels}
	if !q.From.IsZero() {
		// Round the window outwards to whole milliseconds; the caller
		// filters exactly.
		b.FromDate = lumuDate(q.From.Truncate(time.Millisecond))
	}
	if !q.To.IsZero() {
		to := q.To.Truncate(time.Millisecond)
		if to.Before(q.To) {
			to = to.Add(time.Millisecond)
		}
		b.ToDate = lumuDate(to)
	}
	body, err := json.Marshal(b)
	if err != nil {
		return ListResult{}, err
	}
	var res ListResult
	seen := make(map[string]bool)
	const path = "/api/incidents/all"
	for page := 1; ; {
		if res.Pages >= c.cfg.MaxPages {
			return res, fmt.Errorf("POST %s: Lumu still had more pages after %d pages of %d incidents; giving up", path, res.Pages, PageSize)
		}
		endpoint := fmt.Sprintf("POST %s (page %d)", path, page)
		data, err := c.do(ctx, request{
			method: http.MethodPost, path: path, endpoint: endpoint, body: body,
			query: url.Values{"page": {strconv.Itoa(page)}, "items": {strconv.Itoa(PageSize)}},
		})
		res.Pages++
		if err != nil {
			return res, err
		}
		// One pass for the usual page; encoding/json (decode) for anything
		// else, including an empty or all-space body.
		p, ok := decodeIncidentPageFast(data)
		if !ok {
			p = incidentPage{}
			if err := decode(data, &p); err != nil {
				return res, fmt.Errorf("%s: Lumu's answer is not a valid incident list: %s", endpoint, Scrub(err.Error()))
			}
		}
		fresh := 0
		for _, in := range p.Items {
			id := strings.ToLower(strings.TrimSpace(in.ID))
			if !ValidUUID(id) {
				return res, fmt.Errorf("%s: Lumu returned an incident with an invalid id %q (not a UUID)", endpoint, truncate(in.ID, 80))
			}
			in.ID = id
			if seen[id] {
				continue
			}
			seen[id] = true
			fresh++
			res.Incidents = append(res.Incidents, in)
		}
		if onPage != nil {
			onPage(len(res.Incidents))
		}
		pi := p.PaginationInfo
		if pi == (PaginationInfo{}) && p.Pagination != nil {
			pi = *p.Pagination
		}
		if pi.Next == 0 || len(p.Items) == 0 {
			return res, nil
		}
		if fresh == 0 {
			return res, fmt.Errorf("%s: Lumu repeated incidents it had already listed and announced page %d; stopping instead of looping", endpoint, pi.Next)
		}
		if pi.Next <= page {
			return res, fmt.Errorf("%s: Lumu announced page %d as the next page; stopping instead of looping", endpoint, pi.Next)
		}
		page = pi.Next
	}
}

// Context reads GET /api/incidents/{id}/context?hash=<t>. An empty 200
// body is an empty context (no files, activity unknown).
func (c *Client) Context(ctx context.Context, id string, t provider.HashType) (*Context, error) {
	id = strings.ToLower(id)
	if !ValidUUID(id) {
		return nil, fmt.Errorf("incident id %q is not a UUID", truncate(id, 80))
	}
	if t.HexLen() == 0 {
		return nil, fmt.Errorf("unknown hash type %q", truncate(string(t), 32))
	}
	path := "/api/incidents/" + id + "/context"
	endpoint := fmt.Sprintf("GET %s?hash=%s", path, t)
	data, err := c.do(ctx, request{
		method: http.MethodGet, path: path, endpoint: endpoint, incident: id,
		query: url.Values{"hash": {string(t)}},
	})
	if err != nil {
		return nil, err
	}
	var cx Context
	if err := decode(data, &cx); err != nil {
		return nil, fmt.Errorf("%s: Lumu's answer is not a valid incident context: %s", endpoint, Scrub(err.Error()))
	}
	return &cx, nil
}

// Details reads GET /api/incidents/{id}/details.
func (c *Client) Details(ctx context.Context, id string) (*Details, error) {
	id = strings.ToLower(id)
	if !ValidUUID(id) {
		return nil, fmt.Errorf("incident id %q is not a UUID", truncate(id, 80))
	}
	path := "/api/incidents/" + id + "/details"
	endpoint := "GET " + path
	data, err := c.do(ctx, request{method: http.MethodGet, path: path, endpoint: endpoint, incident: id})
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: Lumu answered 200 with an empty body", endpoint)
	}
	var d Details
	if err := decode(data, &d); err != nil {
		return nil, fmt.Errorf("%s: Lumu's answer is not valid incident details: %s", endpoint, Scrub(err.Error()))
	}
	if d.ID != "" && !ValidUUID(d.ID) {
		return nil, fmt.Errorf("%s: Lumu returned an invalid incident id %q (not a UUID)", endpoint, truncate(d.ID, 80))
	}
	d.ID = strings.ToLower(d.ID)
	return &d, nil
}

// decode unmarshals data into v; an empty body leaves v at its zero value.
func decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	return json.Unmarshal(data, v)
}

// request is one logical API call (retried as a whole).
type request struct {
	method   string
	path     string
	query    url.Values // without the key
	body     []byte
	endpoint string // for messages: method, path, no key
	incident string // incident id, for 404 messages
}

// APIError is a response of Lumu that the client does not retry (or no
// longer retries), or a request that got no answer. Its message names the
// API URL, the endpoint and the status, never the key (the Source adds the
// company and ioc_filter blocks):
//
//	Lumu (https://defender.lumu.io:443, GET /api/incidents/ID/details: 503 Service Unavailable): gave up after ...
type APIError struct {
	Endpoint   string
	StatusCode int
	msg        string
	sentinel   error
}

// Error returns the message (endpoint and status, never the key).
func (e *APIError) Error() string { return e.msg }

// Unwrap returns provider.ErrUnauthorized for 401, provider.ErrForbidden
// for 403 and provider.ErrNotFound for 404.
func (e *APIError) Unwrap() error { return e.sentinel }

// do sends r, honouring the rate limiter and retrying transient failures
// until the retry budget is spent; a host name that does not resolve gets
// netx.DNSAttempts attempts only. Every attempt and every retry is reported
// to the HTTP log. The returned error never contains the key.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	start := c.cfg.Now()
	deadline := start.Add(c.cfg.RetryTimeout)
	for attempt := 1; ; attempt++ {
		if err := c.throttle(ctx, r.endpoint); err != nil {
			return nil, err
		}
		if c.cfg.Quota != nil {
			if err := c.cfg.Quota(ctx); err != nil {
				return nil, fmt.Errorf("%s: %w", c.where(r, 0), err)
			}
		}
		sent := time.Now()
		res := c.once(ctx, r)
		c.logRequest(r, attempt, res, time.Since(sent))
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: interrupted: %w", r.endpoint, err)
		}
		if res.err == nil && res.status >= 200 && res.status < 300 {
			return res.body, nil
		}
		if res.err != nil && res.fatal {
			return nil, res.err
		}
		var (
			wait  time.Duration
			cause string
			kind  = provider.ProgressRetrying
		)
		switch {
		case res.err != nil:
			cause = res.cause
			wait = c.backoff(attempt)
			if _, dns := netx.DNSError(res.netErr); dns && attempt >= netx.DNSAttempts {
				msg := fmt.Sprintf("%s: %s; check api_url and the DNS resolver (after %d attempts)", c.where(r, 0), cause, attempt)
				return nil, &APIError{Endpoint: r.endpoint, msg: c.scrub(msg)}
			}
		case res.status == http.StatusTooManyRequests:
			cause = fmt.Sprintf("%s on %s", statusText(res.status), r.endpoint)
			kind = provider.ProgressRateLimited
			if d, ok := retryAfter(res.header, c.cfg.Now()); ok {
				wait = max(d, minRetryGap)
			} else {
				wait = c.backoff(attempt)
			}
		case retryableStatus(res.status):
			cause = fmt.Sprintf("%s on %s", statusText(res.status), r.endpoint)
			wait = c.backoff(attempt)
		default:
			return nil, c.statusError(r, res)
		}
		now := c.cfg.Now()
		if now.Add(wait).After(deadline) {
			what := c.where(r, res.status)
			if res.err != nil {
				what += ": " + res.cause + ";"
			} else {
				what += ":"
			}
			msg := fmt.Sprintf("%s gave up after %d attempts in %s (retry_timeout %s)",
				what, attempt, now.Sub(start).Round(time.Millisecond), c.cfg.RetryTimeout)
			return nil, &APIError{Endpoint: r.endpoint, StatusCode: res.status, msg: c.scrub(msg)}
		}
		if c.cfg.Progress != nil {
			c.cfg.Progress(kind, wait, c.scrub(cause))
		}
		if c.cfg.HTTPLog != nil {
			c.cfg.HTTPLog.Retry(provider.HTTPRetry{Client: c.label, Cause: c.scrub(cause), Retry: attempt, Wait: wait, GiveUpIn: deadline.Sub(now)})
		}
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: interrupted while waiting to retry: %w", r.endpoint, err)
		}
	}
}

// where names the API URL, the endpoint and, when not zero, the status of
// an answer: `Lumu (https://h:443, GET /p: 404 Not Found)`. The Source
// prefixes its errors with the company and ioc_filter blocks.
func (c *Client) where(r request, status int) string {
	if status == 0 {
		return fmt.Sprintf("Lumu (%s, %s)", c.origin, r.endpoint)
	}
	return fmt.Sprintf("Lumu (%s, %s: %s)", c.origin, r.endpoint, statusText(status))
}

// logRequest reports one attempt to the HTTP log. The path carries the
// request's query without the key.
func (c *Client) logRequest(r request, attempt int, res result, took time.Duration) {
	if c.cfg.HTTPLog == nil {
		return
	}
	path := r.path
	if q := r.query.Encode(); q != "" {
		path += "?" + q
	}
	ev := provider.HTTPRequest{Client: c.label, Method: r.method, Path: c.scrub(path), Status: res.status, Duration: took, Attempt: attempt}
	if res.err != nil && res.status == 0 {
		ev.Err = res.cause
		if ev.Err == "" {
			ev.Err = res.err.Error()
		}
	}
	c.cfg.HTTPLog.Request(ev)
}

// throttle waits for the per-key budget.
func (c *Client) throttle(ctx context.Context, endpoint string) error {
	if c.cfg.Limiter == nil {
		return nil
	}
	now := c.cfg.Now()
	rv := c.cfg.Limiter.ReserveN(now, 1)
	if !rv.OK() {
		return fmt.Errorf("%s: the rate limit admits no request", endpoint)
	}
	d := rv.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if c.cfg.Progress != nil {
		c.cfg.Progress(provider.ProgressRateLimited, d, "requests_per_minute budget")
	}
	if err := c.cfg.Sleep(ctx, d); err != nil {
		rv.CancelAt(c.cfg.Now())
		return fmt.Errorf("%s: interrupted while waiting for the rate limit: %w", endpoint, err)
	}
	return nil
}

type result struct {
	status int
	header http.Header
	body   []byte
	err    error  // transport error, already scrubbed
	cause  string // err in a few words ("connection refused"), scrubbed
	netErr error  // the transport's error without *url.Error (which holds the key)
	fatal  bool   // err is not worth retrying
}

// once sends one attempt of r.
func (c *Client) once(ctx context.Context, r request) result {
	u := *c.base
	u.Path = c.base.Path + r.path
	q := url.Values{}
	for k, v := range r.query {
		q[k] = v
	}
	q.Set("key", c.cfg.Key)
	u.RawQuery = q.Encode()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return result{err: fmt.Errorf("%s: %s", r.endpoint, c.scrub(err.Error())), fatal: true}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		// *url.Error embeds the full URL, key included: keep only the
		// scrubbed text, never the error value.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		cause := c.scrub(netx.Cause(err))
		return result{err: fmt.Errorf("%s: %s", r.endpoint, cause), cause: cause, netErr: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return result{err: c.redirectError(r, req, resp), fatal: true}
	}
	limit := c.cfg.MaxBodyBytes
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		limit = errBodyMax
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		cause := "reading Lumu's answer: " + c.scrub(err.Error())
		return result{err: fmt.Errorf("%s: %s", r.endpoint, cause), cause: cause}
	}
	if int64(len(data)) > limit {
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return result{err: fmt.Errorf("%s: Lumu's answer is larger than %d bytes; refusing to read it", r.endpoint, limit), fatal: true}
		}
		data = data[:limit]
	}
	return result{status: resp.StatusCode, header: resp.Header, body: data}
}

// redirectError describes a 3xx answer by its status and the host of its
// Location, never the path or query (which may echo the key).
func (c *Client) redirectError(r request, req *http.Request, resp *http.Response) error {
	to := "without a usable Location"
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := req.URL.Parse(loc); err == nil && u.Host != "" {
			to = "to host " + sanitize(u.Host)
		}
	}
	msg := fmt.Sprintf("%s: Lumu redirects %s; lumuctl does not follow redirects: check api_url of company %q",
		c.where(r, resp.StatusCode), to, c.cfg.Company)
	return &APIError{Endpoint: r.endpoint, StatusCode: resp.StatusCode, msg: c.scrub(msg)}
}

// statusError turns a final non-2xx answer into an error a person can act
// on. It starts with where the request went (see where).
func (c *Client) statusError(r request, res result) error {
	e := &APIError{Endpoint: r.endpoint, StatusCode: res.status}
	where := c.where(r, res.status)
	switch res.status {
	case http.StatusUnauthorized:
		e.sentinel = provider.ErrUnauthorized
		e.msg = fmt.Sprintf("Lumu rejected the Defender API key of company %q (%s, %s: 401): check defender_key; a key revoked in the Lumu portal must be replaced", c.cfg.Company, c.origin, r.endpoint)
	case http.StatusForbidden:
		e.sentinel = provider.ErrForbidden
		e.msg = fmt.Sprintf("%s: Lumu refused the request of company %q: the key may lack access to the Defender API", where, c.cfg.Company)
	case http.StatusNotFound:
		e.sentinel = provider.ErrNotFound
		if r.incident != "" {
			e.msg = fmt.Sprintf("%s: Lumu has no incident %s", where, r.incident)
		} else {
			e.msg = fmt.Sprintf("%s: check api_url of company %q", where, c.cfg.Company)
		}
	case http.StatusBadRequest:
		var p apiProblem
		_ = json.Unmarshal(res.body, &p)
		detail := strings.TrimSpace(strings.Trim(p.Name+": "+p.Detail, ": "))
		if p.Name == "" && p.Detail == "" {
			detail = bodySnippet(res.body)
		}
		e.msg = fmt.Sprintf("%s: Lumu rejected the request: %s", where, detail)
	default:
		e.msg = where
		if s := bodySnippet(res.body); s != "" {
			e.msg += ": " + s
		}
	}
	e.msg = c.scrub(e.msg)
	return e
}

func bodySnippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return "(empty body)"
	}
	return truncate(s, 200)
}

func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return strconv.Itoa(code)
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryAfter reads how long a 429 asks to wait: Retry-After (seconds or an
// HTTP date), else RateLimit-Reset (seconds).
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return time.Duration(min(n, 86400)) * time.Second, true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	if v := strings.TrimSpace(h.Get("RateLimit-Reset")); v != "" {
		if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 86400 {
			return time.Duration(f * float64(time.Second)), true
		}
	}
	return 0, false
}

// backoff is the jittered exponential wait before attempt+1: a random
// duration in [d/2, d) with d = 500ms·2^(attempt-1), capped at 30s.
func (c *Client) backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt-1, 16)
	if d > backoffMax || d <= 0 {
		d = backoffMax
	}
	return d/2 + time.Duration(c.cfg.Jitter()*float64(d/2))
}

// scrub removes the key from s, in any encoding it may take in a URL.
func (c *Client) scrub(s string) string {
	if c.cfg.Key != "" {
		s = strings.ReplaceAll(s, c.cfg.Key, "REDACTED")
		if esc := url.QueryEscape(c.cfg.Key); esc != c.cfg.Key {
			s = strings.ReplaceAll(s, esc, "REDACTED")
		}
	}
	return Scrub(s)
}

var keyParamRE = regexp.MustCompile(`(?i)(key=)[^&\s"'#<>]*`)

// Scrub replaces the value of every key= query parameter in s with
// REDACTED. Apply it to anything that may hold a Lumu URL before it is
// shown.
func Scrub(s string) string { return keyParamRE.ReplaceAllString(s, "${1}REDACTED") }

// sanitize replaces C0 and C1 control characters and DEL with spaces and
// bounds the length: s came from a server and reaches a terminal.
func sanitize(s string) string {
	return truncate(strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s), 200)
}
