package lumu

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lumuctl/lumuctl/engine/testkit"
)

func TestHTTPLogReportsAttemptsAndRetries(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(flaky([]int{502}, nil, `{"id":"`+incA+`"}`, &calls))
	defer srv.Close()
	log := &testkit.HTTPLog{}
	c := testClient(t, srv, newFakeClock(), func(cfg *ClientConfig) { cfg.HTTPLog = log })
	if _, err := c.Details(context.Background(), incA); err != nil {
		t.Fatal(err)
	}
	label := `company "acme" (` + srv.URL + `)`
	if len(log.Requests()) != 2 {
		t.Fatalf("requests = %+v, want 2", log.Requests())
	}
	for i, want := range []int{502, 200} {
		r := log.Requests()[i]
		if r.Client != label || r.Method != "GET" || r.Path != "/api/incidents/"+incA+"/details" ||
			r.Status != want || r.Attempt != i+1 || r.Err != "" || r.Duration < 0 {
			t.Errorf("request %d = %+v", i, r)
		}
		assertNoKey(t, fmt.Sprint(r))
	}
	if len(log.Retries()) != 1 {
		t.Fatalf("retries = %+v, want 1", log.Retries())
	}
	want := label + ": 502 Bad Gateway on GET /api/incidents/" + incA + "/details; retry 1 in 250ms, giving up in 2m0s"
	if got := log.Retries()[0].String(); got != want {
		t.Errorf("retry line = %q\nwant %q", got, want)
	}
}

// dnsFailure is a transport whose host name never resolves.
type dnsFailure struct{ calls atomic.Int32 }

func (d *dnsFailure) RoundTrip(r *http.Request) (*http.Response, error) {
	d.calls.Add(1)
	return nil, &net.DNSError{Err: "no such host", Name: r.URL.Hostname(), IsNotFound: true}
}

func TestUnresolvableHostFailsAfterTwoAttempts(t *testing.T) {
	tr := &dnsFailure{}
	log := &testkit.HTTPLog{}
	clk := newFakeClock()
	c, err := NewClient(ClientConfig{BaseURL: "https://lumu.invalid", Key: testKey, Company: "acme",
		HTTPClient: &http.Client{Transport: tr}, Now: clk.Now, Sleep: clk.Sleep, Jitter: func() float64 { return 0 }, HTTPLog: log})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListIncidents(context.Background(), ListQuery{}, nil)
	want := "Lumu (https://lumu.invalid:443, POST /api/incidents/all (page 1)): host name lumu.invalid does not resolve (no such host); check api_url and the DNS resolver (after 2 attempts)"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v\nwant %s", err, want)
	}
	if tr.calls.Load() != 2 || len(log.Retries()) != 1 || len(clk.Sleeps()) != 1 {
		t.Errorf("%d attempts, %d retries, %d sleeps; want 2, 1, 1", tr.calls.Load(), len(log.Retries()), len(clk.Sleeps()))
	}
	for _, r := range log.Requests() {
		if r.Status != 0 || !strings.Contains(r.Err, "does not resolve") {
			t.Errorf("request %+v: want no status and the DNS failure", r)
		}
		assertNoKey(t, fmt.Sprint(r))
	}
}
