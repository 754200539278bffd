package kibana

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

func withLog(l provider.HTTPLog) func(*provider.TargetConfig) {
	return func(c *provider.TargetConfig) { c.HTTPLog = l }
}

// ignoreDuration drops the measured duration from comparisons (it is real
// time) after checking it is not negative.
var ignoreDuration = cmpopts.IgnoreFields(provider.HTTPRequest{}, "Duration")

func TestHTTPLogReportsAttemptsAndRetries(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(404)
		w.Write([]byte(`{"message":"exception list item id: \"so-1\" does not exist","status_code":404}`))
	}))
	defer srv.Close()
	log := &testkit.HTTPLog{}
	c, _ := newTestClient(t, srv, withLog(log))
	_, err := c.Get(ctx, "so-1")
	if !errors.Is(err, provider.ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
	label := `kibana "prod" (` + srv.URL + `)`
	path := "/api/exception_lists/items?id=so-1&namespace_type=agnostic"
	want := []provider.HTTPRequest{
		{Client: label, Method: "GET", Path: path, Status: 503, Attempt: 1},
		{Client: label, Method: "GET", Path: path, Status: 404, Attempt: 2},
	}
	if d := cmp.Diff(want, log.Requests(), ignoreDuration); d != "" {
		t.Errorf("requests (-want +got):\n%s", d)
	}
	for _, r := range log.Requests() {
		if r.Duration < 0 {
			t.Errorf("negative duration %v", r.Duration)
		}
	}
	wantRetries := []provider.HTTPRetry{{Client: label, Cause: "503 Service Unavailable on GET /api/exception_lists/items",
		Retry: 1, Wait: 250 * time.Millisecond, GiveUpIn: time.Minute}}
	if d := cmp.Diff(wantRetries, log.Retries()); d != "" {
		t.Errorf("retries (-want +got):\n%s", d)
	}
}

func TestConnectionRefusedIsRetriedVisibly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there now
	srv := &httptest.Server{URL: "http://" + addr}
	log := &testkit.HTTPLog{}
	c, clk := newTestClient(t, srv, withLog(log), WithHTTPClient(&http.Client{}))
	_, err = c.Get(ctx, "so-1")
	want := `kibana "prod" (http://` + addr + `, GET /api/exception_lists/items): connection refused (after 9 attempts)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if len(log.Requests()) != 9 || len(log.Retries()) != 8 || len(clk.Sleeps()) != 8 {
		t.Fatalf("%d requests, %d retries, %d sleeps; want 9, 8, 8", len(log.Requests()), len(log.Retries()), len(clk.Sleeps()))
	}
	for i, r := range log.Requests() {
		if r.Status != 0 || r.Err != "connection refused" || r.Attempt != i+1 {
			t.Errorf("request %d = %+v", i, r)
		}
	}
	for i, r := range log.Retries() {
		if r.Cause != "connection refused" || r.Retry != i+1 || r.Wait != clk.Sleeps()[i] {
			t.Errorf("retry %d = %+v (slept %v)", i, r, clk.Sleeps()[i])
		}
	}
	if got, want := log.Retries()[0].String(), `kibana "prod" (http://`+addr+`): connection refused; retry 1 in 250ms, giving up in 1m0s`; got != want {
		t.Errorf("first retry line = %q, want %q", got, want)
	}
}

// dnsFailure is a transport whose host name never resolves.
type dnsFailure struct{ calls int }

func (d *dnsFailure) RoundTrip(r *http.Request) (*http.Response, error) {
	d.calls++
	return nil, &net.DNSError{Err: "no such host", Name: r.URL.Hostname(), IsNotFound: true}
}

func TestUnresolvableHostFailsAfterTwoAttempts(t *testing.T) {
	tr := &dnsFailure{}
	log := &testkit.HTTPLog{}
	clk := newClock()
	c, err := New(provider.TargetConfig{Name: "prod", URL: "https://kibana.invalid:9243/kb", APIKey: testKey, RetryTimeout: 2 * time.Minute, HTTPLog: log},
		WithHTTPClient(&http.Client{Transport: tr}), WithClock(clk.Now), WithSleeper(clk.Sleep), WithRand(func() float64 { return 0 }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(ctx, "so-1")
	want := `kibana "prod" (https://kibana.invalid:9243/kb, GET /api/exception_lists/items): host name kibana.invalid does not resolve (no such host); check url and the DNS resolver (after 2 attempts)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if tr.calls != 2 || len(log.Retries()) != 1 || len(clk.Sleeps()) != 1 {
		t.Errorf("%d attempts, %d retries, %d sleeps; want 2, 1, 1", tr.calls, len(log.Retries()), len(clk.Sleeps()))
	}
	if !strings.Contains(log.Retries()[0].String(), "does not resolve") {
		t.Errorf("retry line %q does not say the name does not resolve", log.Retries()[0])
	}
}

func TestUnauthorizedNamesBlockAndURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		w.Write([]byte(`{"statusCode":401,"error":"Unauthorized","message":"unable to authenticate"}`))
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, func(cfg *provider.TargetConfig) { cfg.Space = "sec" })
	_, err := c.Get(ctx, "so-1")
	want := `Kibana rejected the API key of kibana "prod" (` + srv.URL + `/s/sec, GET /api/exception_lists/items: 401): unable to authenticate`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v\nwant prefix %s", err, want)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Errorf("error holds the key: %v", err)
	}
}
