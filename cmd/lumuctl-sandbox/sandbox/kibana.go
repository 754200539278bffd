package sandbox

import (
	"net/http"
	"time"
)

// KibanaStandIn is what the sandbox needs from the Kibana stand-in: the
// Kibana API as an http.Handler. When it also has a Control() http.Handler
// method, that handler is mounted under /kibana/ on the control server.
type KibanaStandIn interface {
	http.Handler
}

// kibanaOptions mirrors kibanasim.Options.
type kibanaOptions struct {
	APIKey      string
	PolicyIDs   []string
	Space91     bool
	SeedUnowned int
	Seed        int64
	Now         func() time.Time
}

// newKibana builds the Kibana stand-in.
//
// TODO(sandbox): kibanasim does not compile yet in the shared tree; until it
// does, the Kibana URL answers 503 with Kibana's Boom envelope.
func newKibana(o kibanaOptions) KibanaStandIn {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"statusCode":503,"error":"Service Unavailable","message":"Kibana stand-in not wired yet"}` + "\n"))
	})
}
