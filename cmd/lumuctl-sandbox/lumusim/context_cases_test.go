package lumusim

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestContextCasesOfLumusIntegrations: the stand-in produces each context
// case SPEC 3 reads as Lumu's integrations do: no currently_active, a rank,
// and a 404 for an incident that is still listed.
func TestContextCasesOfLumusIntegrations(t *testing.T) {
	s, ts := start(t, Options{})
	rank := 899999
	cases := []struct {
		name string
		n    NewIncident
		want func(t *testing.T, r response)
	}{
		{"no currently_active", NewIncident{OmitCurrentlyActive: true, Hashes: map[HashType][]string{SHA256: {sha256a}}},
			func(t *testing.T, r response) {
				raw := decode[map[string]json.RawMessage](t, r)
				if _, ok := raw["currently_active"]; ok || r.status != 200 {
					t.Errorf("%d %s", r.status, r.body)
				}
				if _, ok := raw["rank"]; ok {
					t.Errorf("rank served without being set: %s", r.body)
				}
			}},
		{"rank", NewIncident{Rank: &rank}, func(t *testing.T, r response) {
			raw := decode[map[string]json.RawMessage](t, r)
			if string(raw["rank"]) != "899999" || string(raw["currently_active"]) != "true" {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
		{"404 while listed", NewIncident{ContextNotFound: true}, func(t *testing.T, r response) {
			if r.status != http.StatusNotFound {
				t.Errorf("%d %s", r.status, r.body)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inc, err := s.AddIncident(c.n)
			if err != nil {
				t.Fatal(err)
			}
			c.want(t, do(t, "GET", ts.URL+"/api/incidents/"+inc.ID+"/context?hash=sha256&key="+keyA, ""))
			if c.n.ContextNotFound {
				r := do(t, "GET", ts.URL+"/api/incidents/"+inc.ID+"/details?key="+keyA, "")
				if r.status != 200 {
					t.Errorf("details of the vanished-context incident: %d", r.status)
				}
			}
		})
	}
}
