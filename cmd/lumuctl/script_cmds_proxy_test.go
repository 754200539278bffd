package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/rogpeppe/go-internal/testscript"
)

// A forward HTTP proxy on loopback for the proxy scripts (docs/commands.md,
// "Proxies"). Go's transport never proxies a loopback host, so the scripts
// name the sandbox by two made-up hosts that only the proxy knows: it maps
// kibana.proxied.test and lumu.proxied.test to the sandbox's loopback
// addresses. lumuctl resolves neither name; a request that reaches one of
// them without the proxy fails.
//
//	proxy start
//	    starts the proxy and sets PROXY_URL, PROXIED_KIBANA_URL and
//	    PROXIED_LUMU_URL (the sandbox URLs with the made-up hosts).
//	proxy count
//	    prints "proxied=N": the requests the proxy forwarded.
const (
	proxiedKibanaHost = "kibana.proxied.test"
	proxiedLumuHost   = "lumu.proxied.test"
)

var (
	scriptProxiesMu sync.Mutex
	scriptProxies   = map[string]*atomic.Int64{}
)

func cmdProxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: proxy start|count")
	}
	work := ts.Getenv("WORK")
	switch args[0] {
	case "start":
		sb := scriptSandboxFor(ts)
		if sb == nil {
			ts.Fatalf("proxy start: run sandbox first")
		}
		info := sb.Info()
		kib, err := url.Parse(info.KibanaURL)
		ts.Check(err)
		lumu, err := url.Parse(info.LumuURL)
		ts.Check(err)
		upstream := map[string]string{proxiedKibanaHost: kib.Host, proxiedLumuHost: lumu.Host}
		var n atomic.Int64
		// httputil.ReverseProxy handles hop-by-hop headers and aborts the
		// answer when the upstream body fails midway, so lumuctl sees an
		// error (and retries) rather than a short 200.
		rp := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.Out.URL.Host = upstream[pr.In.URL.Hostname()]
				pr.Out.Host = pr.Out.URL.Host
			},
			ErrorLog: log.New(io.Discard, "", 0),
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, ok := upstream[r.URL.Hostname()]; !r.URL.IsAbs() || !ok {
				http.Error(w, "proxy: unknown host "+r.URL.Host, http.StatusBadGateway)
				return
			}
			n.Add(1)
			rp.ServeHTTP(w, r)
		}))
		ts.Defer(srv.Close)
		scriptProxiesMu.Lock()
		scriptProxies[work] = &n
		scriptProxiesMu.Unlock()
		kib.Host = proxiedKibanaHost
		lumu.Host = proxiedLumuHost
		ts.Setenv("PROXY_URL", srv.URL)
		ts.Setenv("PROXIED_KIBANA_URL", kib.String())
		ts.Setenv("PROXIED_LUMU_URL", lumu.String())
	case "count":
		scriptProxiesMu.Lock()
		n := scriptProxies[work]
		scriptProxiesMu.Unlock()
		if n == nil {
			ts.Fatalf("proxy count: no proxy started")
		}
		fmt.Fprintf(ts.Stdout(), "proxied=%d\n", n.Load())
	default:
		ts.Fatalf("usage: proxy start|count")
	}
}
