package kibana

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Defaults used when the TargetConfig leaves a value zero: the timeouts
// are provider.DefaultKibanaTimeout and provider.DefaultRetryTimeout.
const (
	// DefaultPageSize is the per_page of _find requests. An owned item holds
	// at most 2,000 values (~140 KB of JSON), so a page of 100 stays under
	// ~14 MB; maxPageBody bounds what a hostile server can make us read.
	DefaultPageSize = 100
	// ResultWindow is Elasticsearch's default max_result_window, which bounds
	// page*per_page of a saved-objects find.
	ResultWindow = 10000
)

// Wire constants of the blocklist container.
const (
	ListID        = "endpoint_blocklists"
	NamespaceType = "agnostic"
	apiVersion    = "2023-10-31"
)

// Client talks to one Kibana. It implements provider.Target and is safe for
// concurrent use. It holds no item state: a write sends exactly the item it
// is given, so a plan made through a read-only client can be applied through
// another one.
type Client struct {
	name         string   // configuration label, for messages
	base         *url.URL // scheme://host[:port][/base][/s/<space>]
	origin       string   // base for messages: provider.Origin(base)
	label        string   // `kibana "NAME" (origin)`, for the HTTP log
	log          provider.HTTPLog
	space        string
	apiKey       string
	hc           *http.Client
	retryTimeout time.Duration
	pageSize     int
	window       int // result window; ResultWindow except in tests
	sleep        func(context.Context, time.Duration) error
	now          func() time.Time
	rand         func() float64
	// wrapTransport, when set, wraps the HTTP transport (WithTransportWrapper).
	wrapTransport func(http.RoundTripper) http.RoundTripper
}

var _ provider.Target = (*Client)(nil)

// Factory is New typed as a provider.TargetFactory, for cmd/lumuctl.
var Factory provider.TargetFactory = func(cfg provider.TargetConfig) (provider.Target, error) {
	c, err := New(cfg)
	if err != nil {
		return nil, err // not a typed nil
	}
	return c, nil
}

// Option adjusts a Client built by New. Options exist for tests and for
// embedding; production code passes none.
type Option func(*Client)

// WithHTTPClient makes the client use hc as is: its transport and timeout
// replace the ones New would build from ca_file, insecure_skip_verify and
// timeout. ReadOnly still applies (the transport is wrapped).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTransportWrapper wraps the transport of the client New builds (or the
// one given WithHTTPClient), for instrumentation such as request counters.
// The read-only guard stays outermost: a refused write never reaches wrap.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(c *Client) { c.wrapTransport = wrap }
}

// WithSleeper replaces the wait between retries. sleep must return ctx.Err()
// at once when ctx is cancelled.
func WithSleeper(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// WithClock replaces time.Now for the retry budget and Retry-After dates.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithRand replaces the jitter source; f returns values in [0, 1).
func WithRand(f func() float64) Option { return func(c *Client) { c.rand = f } }

// WithPageSize sets per_page of _find requests (1..ResultWindow).
func WithPageSize(n int) Option { return func(c *Client) { c.pageSize = n } }

// New builds a Client for cfg. The URL must be http(s)://host[:port][/base]
// without user info, query or fragment; a Space other than "" or "default"
// prefixes every path with /s/<space>.
func New(cfg provider.TargetConfig, opts ...Option) (*Client, error) {
	name := cfg.Name
	if name == "" {
		name = "kibana"
	}
	base, err := parseBaseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("kibana %q: %w", name, err)
	}
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("kibana %q: api_key is empty", name)
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		return nil, fmt.Errorf("kibana %q: api_key contains a line break", name)
	}
	space := cfg.Space
	if space != "" && space != "default" {
		if strings.ContainsAny(space, "/?#%") || strings.TrimSpace(space) != space {
			return nil, fmt.Errorf("kibana %q: invalid space %q", name, space)
		}
		base.Path += "/s/" + space
	}
	c := &Client{
		name:         name,
		base:         base,
		space:        space,
		apiKey:       cfg.APIKey,
		retryTimeout: cfg.RetryTimeout,
		pageSize:     DefaultPageSize,
		window:       ResultWindow,
		sleep:        provider.Sleep,
		now:          time.Now,
		rand:         rand.Float64,
		origin:       provider.Origin(base),
		label:        provider.Endpoint("kibana", name, base),
		log:          cfg.HTTPLog,
	}
	if c.retryTimeout <= 0 {
		c.retryTimeout = provider.DefaultRetryTimeout
	}
	for _, o := range opts {
		o(c)
	}
	if c.pageSize < 1 || c.pageSize > ResultWindow {
		return nil, fmt.Errorf("kibana %q: page size %d out of range 1..%d", name, c.pageSize, ResultWindow)
	}
	if c.hc == nil {
		hc, err := newHTTPClient(cfg)
		if err != nil {
			return nil, fmt.Errorf("kibana %q: %w", name, err)
		}
		c.hc = hc
	}
	// Never follow a redirect, whoever built the http.Client: Go would send
	// Authorization to another port of the same host, turn a POST into a
	// GET after a 302, and the answer of wherever it landed would be
	// believed. A 3xx is an error (see once).
	hc := *c.hc
	hc.CheckRedirect = refuseRedirect
	if c.wrapTransport != nil {
		hc.Transport = c.wrapTransport(hc.Transport)
	}
	c.hc = &hc
	if cfg.ReadOnly {
		hc := *c.hc
		hc.Transport = ReadOnlyTransport(hc.Transport)
		c.hc = &hc
	}
	return c, nil
}

// CloseIdleConnections closes the keep-alive connections the client is not
// using. A process that builds new clients again and again (apply --every)
// calls it when it is done with one.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the input; a URL never holds the API key, but a
		// user may have pasted credentials into it, so do not echo it.
		return nil, errors.New("url is not a valid URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("url must start with http:// or https://, got scheme %q", u.Scheme)
	case u.Host == "":
		return nil, errors.New("url has no host")
	case u.User != nil:
		return nil, errors.New("url must not contain user info; use api_key")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, errors.New("url must not contain a query")
	case u.Fragment != "":
		return nil, errors.New("url must not contain a fragment")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// newHTTPClient builds the http.Client for cfg: a clone of
// http.DefaultTransport with the TLS settings, and cfg.Timeout per request.
func newHTTPClient(cfg provider.TargetConfig) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.InsecureSkipVerify {
		tlsCfg.InsecureSkipVerify = true
	}
	tr.TLSClientConfig = tlsCfg
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = provider.DefaultKibanaTimeout
	}
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}

// refuseRedirect is an http.Client.CheckRedirect that hands the 3xx answer
// back to the caller instead of following it.
func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// ReadOnlyTransport wraps next (http.DefaultTransport when nil) so that
// every request other than GET and HEAD fails with provider.ErrReadOnly
// before it reaches the network.
func ReadOnlyTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return readOnlyTransport{next: next}
}

type readOnlyTransport struct{ next http.RoundTripper }

func (t readOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, provider.ErrReadOnly)
	}
	return t.next.RoundTrip(r)
}

// ownerSpacePrefix starts the tags Kibana 9.1+ adds to an item it creates
// (ownerSpaceId:<space>): a read-back that finds them still holds what was
// sent (see sameContent). What to do with them is the engine's business.
const ownerSpacePrefix = provider.OwnerSpaceTag
