package kibana

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/providers/internal/netx"
)

// Response size bounds: hostile or broken servers must not exhaust memory.
const (
	maxItemBody  = 16 << 20 // one item (Kibana accepts at most 1 MiB per write)
	maxPageBody  = 32 << 20 // one _find or Fleet page (DefaultPageSize items of ≤ 2,000 values fit)
	maxErrorBody = 64 << 10 // error bodies are read this far, then cut
)

// Backoff bounds for retries.
const (
	backoffBase = 500 * time.Millisecond
	backoffMax  = 30 * time.Second
)

var errTooLarge = errors.New("response too large")

// redirectError is a 3xx answer: lumuctl never follows redirects, so that
// the API key cannot reach another host or port and a POST is never
// silently replaced by a GET. It names the status and the host of
// Location, never its path or query (which may hold anything).
type redirectError struct {
	status int
	host   string // "" when Location is absent or unparsable
}

func (e *redirectError) Error() string {
	to := "without a usable Location"
	if e.host != "" {
		to = "to host " + e.host
	}
	return fmt.Sprintf("answered %d %s redirecting %s; lumuctl does not follow redirects: set url to the address Kibana answers on",
		e.status, http.StatusText(e.status), to)
}

// newRedirectError reads the Location host of a 3xx answer to req.
func newRedirectError(req *http.Request, resp *http.Response) *redirectError {
	e := &redirectError{status: resp.StatusCode}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := req.URL.Parse(loc); err == nil {
			e.host = stripControl(u.Host)
			if len(e.host) > 200 {
				e.host = e.host[:200] + "..."
			}
		}
	}
	return e
}

// call is one logical request; do sends it, retrying transient failures.
type call struct {
	method string
	path   string // API path below base and space
	query  url.Values
	body   []byte // JSON; nil for none
	limit  int64  // bound of a success body
	info   reqInfo
	fleet  bool // Fleet route: no elastic-api-version header
}

// result is the final HTTP answer of a call.
type result struct {
	status   int
	body     []byte
	attempts int
}

func (r result) ok() bool { return r.status >= 200 && r.status < 300 }

func retryableStatus(s int) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// do sends cl, retrying connection errors and retryable statuses with
// jittered exponential backoff (Retry-After honoured) until retryTimeout has
// passed since the first attempt, or until provider.RetryWait(ctx) is done
// (an interrupt: the request on the wire is not cancelled, the next attempt
// is not made). A host name that does not resolve gets netx.DNSAttempts
// attempts only. Every attempt is reported to the HTTP log, and so is every
// retry before its wait. It returns the final HTTP answer whatever its
// status, or an error when no answer could be had.
func (c *Client) do(ctx context.Context, cl call) (result, error) {
	deadline := c.now().Add(c.retryTimeout)
	for attempt := 1; ; attempt++ {
		sent := time.Now()
		status, body, hdr, err := c.once(ctx, cl)
		c.logRequest(cl, attempt, status, err, time.Since(sent))
		if err != nil {
			te := &transportError{kibana: c.name, origin: c.origin, method: cl.method, path: cl.path, attempts: attempt, err: err}
			switch {
			case ctx.Err() != nil:
				te.msg, te.err = ctx.Err().Error(), ctx.Err()
				return result{}, te
			case errors.Is(err, provider.ErrReadOnly):
				te.msg = provider.ErrReadOnly.Error()
				return result{}, te
			case errors.Is(err, errTooLarge):
				te.msg = fmt.Sprintf("response larger than %d bytes", cl.limit)
				return result{}, te
			}
			var re *redirectError
			if errors.As(err, &re) {
				te.msg = re.Error()
				return result{}, te
			}
			te.msg = c.scrub(netx.Cause(err))
			if _, dns := netx.DNSError(err); dns && attempt >= netx.DNSAttempts {
				te.msg += "; check url and the DNS resolver"
				return result{}, te
			}
			wait := c.backoff(attempt)
			if c.now().Add(wait).After(deadline) {
				return result{}, te
			}
			c.logRetry(te.msg, attempt, wait, deadline)
			if serr := c.sleep(provider.RetryWait(ctx), wait); serr != nil {
				te.msg, te.err = "interrupted while waiting to retry ("+te.msg+"): "+serr.Error(), serr
				return result{}, te
			}
			continue
		}
		res := result{status: status, body: body, attempts: attempt}
		if !retryableStatus(status) {
			return res, c.checkOrigin(cl, status, body, hdr)
		}
		wait := c.backoff(attempt)
		if ra, ok := c.retryAfter(hdr); ok {
			wait = ra
		}
		if c.now().Add(wait).After(deadline) {
			return res, c.checkOrigin(cl, status, body, hdr)
		}
		c.logRetry(fmt.Sprintf("%d %s on %s %s", status, http.StatusText(status), cl.method, cl.path), attempt, wait, deadline)
		if serr := c.sleep(provider.RetryWait(ctx), wait); serr != nil {
			return result{}, &transportError{kibana: c.name, origin: c.origin, method: cl.method, path: cl.path, attempts: attempt,
				msg: fmt.Sprintf("interrupted while waiting to retry (answer %d %s): %s", status, http.StatusText(status), serr), err: serr}
		}
	}
}

// logRequest reports one attempt to the HTTP log.
func (c *Client) logRequest(cl call, attempt, status int, err error, took time.Duration) {
	if c.log == nil {
		return
	}
	path := cl.path
	if q := cl.query.Encode(); q != "" {
		path += "?" + q
	}
	r := provider.HTTPRequest{Client: c.label, Method: cl.method, Path: path, Status: status, Duration: took, Attempt: attempt}
	if err != nil {
		r.Err = c.scrub(netx.Cause(err))
	}
	c.log.Request(r)
}

// logRetry reports that the attempt-th attempt failed with cause and is
// retried after wait.
func (c *Client) logRetry(cause string, attempt int, wait time.Duration, deadline time.Time) {
	if c.log == nil {
		return
	}
	c.log.Retry(provider.HTTPRetry{Client: c.label, Cause: cause, Retry: attempt, Wait: wait, GiveUpIn: deadline.Sub(c.now())})
}

// backoff is the wait after the attempt-th failure: an exponential base
// capped at backoffMax, of which the upper half is random ("equal jitter").
func (c *Client) backoff(attempt int) time.Duration {
	d := backoffMax
	if attempt < 10 {
		d = min(backoffBase<<(attempt-1), backoffMax)
	}
	return d/2 + time.Duration(c.rand()*float64(d/2))
}

// retryAfter parses a Retry-After header (seconds or HTTP date).
func (c *Client) retryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(max(n, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(c.now()), 0), true
	}
	return 0, false
}

// once sends one HTTP request and reads its answer.
func (c *Client) once(ctx context.Context, cl call) (int, []byte, http.Header, error) {
	u := *c.base
	u.Path = c.base.Path + cl.path
	u.RawQuery = cl.query.Encode()
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "ApiKey "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if cl.method != http.MethodGet && cl.method != http.MethodHead {
		req.Header.Set("kbn-xsrf", "true")
	}
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if !cl.fleet {
		req.Header.Set("elastic-api-version", apiVersion)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return 0, nil, nil, newRedirectError(req, resp)
	}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := int64(maxErrorBody)
	if ok {
		limit = cl.limit
	}
	data, err := readLimited(resp.Body, limit, resp.ContentLength)
	if err != nil {
		if errors.Is(err, errTooLarge) && !ok {
			err = nil // an error body is only read for its message
		} else {
			return 0, nil, nil, err
		}
	}
	return resp.StatusCode, data, resp.Header, nil
}

// readLimited reads r up to limit bytes; more is errTooLarge.
func readLimited(r io.Reader, limit, size int64) ([]byte, error) {
	var data []byte
	if size > 0 && size <= limit {
		// The declared length sizes the buffer once (a page of items is
		// megabytes; growing it copies it several times); net/http ends
		// the body there, and anything more still counts to the limit.
		data = make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, err
		}
		rest, err := io.ReadAll(io.LimitReader(r, limit-size+1))
		if err != nil {
			return nil, err
		}
		data = append(data, rest...)
	} else {
		var err error
		if data, err = io.ReadAll(io.LimitReader(r, limit+1)); err != nil {
			return nil, err
		}
	}
	if int64(len(data)) > limit {
		return data[:limit], errTooLarge
	}
	return data, nil
}
