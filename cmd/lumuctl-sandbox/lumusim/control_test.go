package lumusim

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestControl(t *testing.T) {
	s, api := start(t, Options{})
	ctl := httptest.NewServer(s.Control())
	t.Cleanup(ctl.Close)
	openIDs := func() []string {
		return decode[listPage](t, do(t, "POST", api.URL+"/api/incidents/open?key="+keyA, "")).ids()
	}

	if r := do(t, "POST", ctl.URL+"/lumu/incidents/"+idA+"/close", `{"comment":"fixed"}`); r.status != 200 {
		t.Fatalf("close: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{idE, idD}, openIDs()); diff != "" {
		t.Errorf("open after close (-want +got):\n%s", diff)
	}
	inc, _ := s.Incident(idA)
	if inc.Status != StatusClosed || !inc.StatusTimestamp.Equal(testNow) {
		t.Errorf("closed incident: status %s at %s, want closed at %s", inc.Status, inc.StatusTimestamp, testNow)
	}
	if r := do(t, "POST", ctl.URL+"/lumu/incidents/"+idA+"/reopen", ""); r.status != 200 {
		t.Fatalf("reopen: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", ctl.URL+"/lumu/incidents/"+idE+"/mute", ""); r.status != 200 {
		t.Fatalf("mute: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{idA, idD}, openIDs()); diff != "" {
		t.Errorf("open after reopen and mute (-want +got):\n%s", diff)
	}

	// A contact moves an incident to the front.
	if r := do(t, "POST", ctl.URL+"/lumu/incidents/"+idD+"/contact", ""); r.status != 200 {
		t.Fatalf("contact: %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{idD, idA}, openIDs()); diff != "" {
		t.Errorf("open after contact (-want +got):\n%s", diff)
	}
	if inc, _ := s.Incident(idD); inc.Contacts != 4 || !inc.LastContact.Equal(testNow) {
		t.Errorf("contacted incident: contacts %d lastContact %s, want 4 and now", inc.Contacts, inc.LastContact)
	}

	// Add an incident with hashes; it is listed and its context serves them.
	r := do(t, "POST", ctl.URL+"/lumu/incidents", `{"adversary_types":["C2C"],"hashes":{"sha256":["`+sha256b+`"],"md5":["d41d8cd98f00b204e9800998ecf8427e"]}}`)
	if r.status != 201 {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	added := decode[IncidentSummary](t, r)
	if !isUUID(added.ID) || added.ID[14] != '1' {
		t.Errorf("added id %q is not a version-1 UUID", added.ID)
	}
	// The clock is fixed, so idD's contact and the addition tie on
	// lastContact; ties are ordered by id.
	if diff := cmp.Diff([]string{idD, added.ID, idA}, openIDs()); diff != "" {
		t.Errorf("open after add (-want +got):\n%s", diff)
	}
	ctxResp := decode[struct {
		RelatedFiles []string `json:"related_files"`
	}](t, do(t, "GET", api.URL+"/api/incidents/"+added.ID+"/context?hash=md5&key="+keyA, ""))
	if diff := cmp.Diff([]string{"d41d8cd98f00b204e9800998ecf8427e"}, ctxResp.RelatedFiles); diff != "" {
		t.Errorf("added context (-want +got):\n%s", diff)
	}

	// Listing ids by status.
	muted := decode[[]IncidentSummary](t, do(t, "GET", ctl.URL+"/lumu/incidents?status=muted", ""))
	var mutedIDs []string
	for _, m := range muted {
		mutedIDs = append(mutedIDs, m.ID)
	}
	if diff := cmp.Diff([]string{idC, idE}, mutedIDs); diff != "" {
		t.Errorf("muted ids (-want +got):\n%s", diff)
	}

	// Faults, latency, rate limit and counters through the control API.
	if r := do(t, "POST", ctl.URL+"/lumu/faults", `{"kind":"list","status":503,"count":1}`); r.status != 200 {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", api.URL+"/api/incidents/all?key="+keyA, ""); r.status != 503 {
		t.Errorf("after a list fault: %d, want 503", r.status)
	}
	do(t, "POST", ctl.URL+"/lumu/faults", `{"kind":"all","status":500}`)
	do(t, "POST", ctl.URL+"/lumu/faults", `{"clear":true}`)
	if r := do(t, "POST", api.URL+"/api/incidents/all?key="+keyA, ""); r.status != 200 {
		t.Errorf("after clearing faults: %d, want 200", r.status)
	}
	if r := do(t, "POST", ctl.URL+"/lumu/latency", `{"kind":"context","duration":"1ms"}`); r.status != 200 {
		t.Errorf("latency: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", ctl.URL+"/lumu/ratelimit", `{"per_minute":1}`); r.status != 200 {
		t.Errorf("ratelimit: %d %s", r.status, r.body)
	}
	c := decode[Counters](t, do(t, "GET", ctl.URL+"/lumu/counters", ""))
	if diff := cmp.Diff(s.Counters(), c); diff != "" {
		t.Errorf("GET /lumu/counters vs Counters() (-want +got):\n%s", diff)
	}
	if c.Fault != 1 || c.List != 5 || c.Context != 1 {
		t.Errorf("counters = %+v, want fault 1, list 5, context 1", c)
	}
	do(t, "POST", ctl.URL+"/lumu/counters/reset", "")
	if diff := cmp.Diff(Counters{}, s.Counters()); diff != "" {
		t.Errorf("counters after reset (-want +got):\n%s", diff)
	}
}

func TestControlErrors(t *testing.T) {
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"unknown incident", "POST", "/lumu/incidents/00000000-0000-1000-8000-000000000000/close", "", 404},
		{"unknown op", "POST", "/lumu/incidents/" + idA + "/explode", "", 404},
		{"unknown field", "POST", "/lumu/incidents/" + idA + "/close", `{"coment":"x"}`, 400},
		{"bad status filter", "GET", "/lumu/incidents?status=active", "", 400},
		{"bad adversary type", "POST", "/lumu/incidents", `{"adversary_types":["Botnet"]}`, 400},
		{"bad hash type", "POST", "/lumu/incidents", `{"hashes":{"sha512":["00"]}}`, 400},
		{"unknown company", "POST", "/lumu/incidents", `{"company_uuid":"00000000-0000-4000-8000-000000000000"}`, 404},
		{"bad fault", "POST", "/lumu/faults", `{"kind":"list","status":418}`, 400},
		{"bad latency", "POST", "/lumu/latency", `{"kind":"list","duration":"soon"}`, 400},
		{"rate limit required", "POST", "/lumu/ratelimit", `{}`, 400},
		{"negative rate limit", "POST", "/lumu/ratelimit", `{"per_minute":-1}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Companies: fixture(), Now: func() time.Time { return testNow }})
			ctl := httptest.NewServer(s.Control())
			defer ctl.Close()
			r := do(t, tt.method, ctl.URL+tt.path, tt.body)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tt.want, r.body)
			}
			if e := decode[map[string]string](t, r); e["error"] == "" {
				t.Errorf("error body %s lacks error", r.body)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	mut := func(f func(c []Company)) Options { c := fixture(); f(c); return Options{Companies: c} }
	tests := map[string]Options{
		"empty key":     mut(func(c []Company) { c[1].Key = "" }),
		"shared key":    mut(func(c []Company) { c[1].Key = keyA }),
		"bad uuid":      mut(func(c []Company) { c[0].UUID = "acme" }),
		"duplicate id":  mut(func(c []Company) { c[1].Incidents[0].ID = idA }),
		"bad status":    mut(func(c []Company) { c[0].Incidents[0].Status = "active" }),
		"negative rate": {Companies: fixture(), RateLimitPerMinute: -1},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			if err := o.Validate(); err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
		})
	}
	if err := (Options{Companies: fixture()}).Validate(); err != nil {
		t.Errorf("fixture: %v", err)
	}
}
