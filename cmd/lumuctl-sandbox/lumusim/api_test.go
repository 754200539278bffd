package lumusim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestKeyRequiredOnEveryRoute(t *testing.T) {
	routes := []struct{ method, path string }{
		{"POST", "/api/incidents/all"},
		{"POST", "/api/incidents/open"},
		{"POST", "/api/incidents/muted"},
		{"POST", "/api/incidents/closed"},
		{"GET", "/api/incidents/" + idA + "/context"},
		{"GET", "/api/incidents/" + idA + "/details"},
		{"POST", "/api/incidents/" + idA + "/close"},
		{"GET", "/api/nothing-here"},
	}
	for _, key := range []string{"", "?key=", "?key=wrong", "?KEY=" + keyA} {
		for _, rt := range routes {
			t.Run(fmt.Sprintf("%s %s%s", rt.method, rt.path, key), func(t *testing.T) {
				s, ts := start(t, Options{})
				r := do(t, rt.method, ts.URL+rt.path+key, "")
				if r.status != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401 (body %s)", r.status, r.body)
				}
				e := decode[errorBody](t, r)
				if e.Name == "" || e.Detail == "" {
					t.Errorf("401 body %s lacks name/detail", r.body)
				}
				want := Counters{Total: 1, Unauthorized: 1}
				if diff := cmp.Diff(want, s.Counters()); diff != "" {
					t.Errorf("counters mismatch (-want +got):\n%s", diff)
				}
				// The incident was not closed by an unauthorised call.
				if inc, _ := s.Incident(idA); inc.Status != StatusOpen {
					t.Errorf("status of %s changed to %s", idA, inc.Status)
				}
			})
		}
	}
}

func TestPaging(t *testing.T) {
	all := []string{idA, idB, idC, idE, idD} // lastContact, most recent first
	tests := []struct {
		name     string
		query    string
		body     string
		wantIDs  []string
		wantInfo map[string]int
	}{
		{"first", "&page=1&items=2", "{}", all[0:2], map[string]int{"page": 1, "items": 2, "next": 2}},
		{"middle", "&page=2&items=2", "{}", all[2:4], map[string]int{"page": 2, "items": 2, "next": 3, "prev": 1}},
		{"last", "&page=3&items=2", "{}", all[4:5], map[string]int{"page": 3, "items": 2, "prev": 2}},
		{"exact end has no next", "&page=1&items=5", "{}", all, map[string]int{"page": 1, "items": 5}},
		{"beyond the end", "&page=9&items=2", "{}", []string{}, map[string]int{"page": 9, "items": 2, "prev": 8}},
		{"defaults", "", "", all, map[string]int{"page": 1, "items": 50}},
		{"max items", "&items=100", "{}", all, map[string]int{"page": 1, "items": 100}},
		{"paging in the body is ignored", "", `{"page":2,"items":1,"pagination":{"page":2,"items":1}}`, all, map[string]int{"page": 1, "items": 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := start(t, Options{})
			r := do(t, "POST", ts.URL+"/api/incidents/all?key="+keyA+tt.query, tt.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			p := decode[listPage](t, r)
			if diff := cmp.Diff(tt.wantIDs, p.ids()); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantInfo, p.PaginationInfo); diff != "" {
				t.Errorf("paginationInfo mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPagingErrors(t *testing.T) {
	for _, q := range []string{"items=101", "items=0", "items=-1", "items=ten", "page=0", "page=-2", "page=x"} {
		t.Run(q, func(t *testing.T) {
			_, ts := start(t, Options{})
			r := do(t, "POST", ts.URL+"/api/incidents/all?key="+keyA+"&"+q, "{}")
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", r.status)
			}
			if e := decode[errorBody](t, r); e.Name == "" || e.Detail == "" {
				t.Errorf("400 body %s lacks name/detail", r.body)
			}
		})
	}
}

func TestListFilters(t *testing.T) {
	iso := func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000Z") }
	tests := []struct {
		name string
		path string
		body string
		want []string // nil: expect 400
	}{
		{"window by lastContact", "all", fmt.Sprintf(`{"fromDate":%q}`, iso(ago(30*day))), []string{idA, idB, idC, idE}},
		{"window edges inclusive", "all", fmt.Sprintf(`{"fromDate":%q,"toDate":%q}`, iso(ago(3*day)), iso(ago(day))), []string{idA, idB, idC}},
		{"microsecond dates", "all", fmt.Sprintf(`{"fromDate":%q}`, ago(2*day).Format("2006-01-02T15:04:05.000000Z")), []string{idA, idB}},
		{"statuses", "all", `{"status":["open","closed"]}`, []string{idA, idB, idE, idD}},
		{"muted only", "all", `{"status":["muted"]}`, []string{idC}},
		{"types any match", "all", `{"adversary-types":["Mining","DGA"]}`, []string{idE, idD}},
		{"labels any match", "all", `{"labels":[548,989]}`, []string{idA, idE}},
		{"all filters", "all", fmt.Sprintf(`{"fromDate":%q,"status":["open"],"adversary-types":["Malware"],"labels":[0,548]}`, iso(ago(30*day))), []string{idA, idE}},
		{"empty arrays mean any", "all", `{"status":[],"adversary-types":[],"labels":[]}`, []string{idA, idB, idC, idE, idD}},
		{"open list", "open", `{}`, []string{idA, idE, idD}},
		{"open list with types", "open", `{"adversary-types":["Malware"]}`, []string{idA, idE}},
		{"closed list ignores status in body", "closed", `{"status":["open"]}`, []string{idB}},
		{"muted list", "muted", ``, []string{idC}},
		{"invalid JSON", "all", `{"status":`, nil},
		{"not an object", "all", `[]`, nil},
		{"unknown status", "all", `{"status":["active"]}`, nil},
		{"unknown adversary type", "all", `{"adversary-types":["Botnet"]}`, nil},
		{"labels are ints", "all", `{"labels":["548"]}`, nil},
		{"bad date", "all", `{"fromDate":"2025-05-01"}`, nil},
		{"beyond retention", "all", fmt.Sprintf(`{"fromDate":%q}`, iso(ago(91*day))), nil},
		{"toDate before fromDate", "all", fmt.Sprintf(`{"fromDate":%q,"toDate":%q}`, iso(ago(day)), iso(ago(2*day))), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ts := start(t, Options{})
			r := do(t, "POST", ts.URL+"/api/incidents/"+tt.path+"?key="+keyA, tt.body)
			if tt.want == nil {
				if r.status != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400 (body %s)", r.status, r.body)
				}
				if e := decode[errorBody](t, r); e.Name == "" || e.Detail == "" {
					t.Errorf("400 body %s lacks name/detail", r.body)
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if diff := cmp.Diff(tt.want, decode[listPage](t, r).ids()); diff != "" {
				t.Errorf("ids mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListIncidentShape(t *testing.T) {
	_, ts := start(t, Options{})
	r := do(t, "POST", ts.URL+"/api/incidents/all?key="+keyA+"&items=1", "{}")
	var raw struct {
		Items []map[string]json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw.Items[0] {
		keys = append(keys, k)
	}
	want := []string{"adversaries", "adversaryId", "adversaryTypes", "contacts", "description", "firstContact",
		"hasPlaybackContacts", "id", "labelDistribution", "lastContact", "status", "statusTimestamp",
		"timestamp", "totalEndpoints", "unread"}
	if diff := cmp.Diff(want, keys, cmpSorted); diff != "" {
		t.Errorf("incident fields mismatch (-want +got):\n%s", diff)
	}
	if got := string(raw.Items[0]["lastContact"]); got != `"2025-05-31T12:00:00Z"` {
		t.Errorf("lastContact = %s, want no fraction for a whole second", got)
	}
}

func TestContext(t *testing.T) {
	tests := []struct {
		name       string
		key, id    string
		query      string
		wantStatus int
		wantFiles  []string // nil: related_files absent
		wantKind   Counters
	}{
		{"default sha256", keyA, idA, "", 200, []string{sha256a, sha256b}, Counters{Total: 1, Context: 1, ContextSHA256: 1}},
		{"sha1", keyA, idA, "&hash=sha1", 200, []string{sha1a}, Counters{Total: 1, Context: 1, ContextSHA1: 1}},
		{"md5 empty is omitted", keyA, idA, "&hash=md5", 200, nil, Counters{Total: 1, Context: 1, ContextMD5: 1}},
		{"upper case hash", keyA, idA, "&hash=SHA256", 200, []string{sha256a, sha256b}, Counters{Total: 1, Context: 1, ContextSHA256: 1}},
		{"no files", keyA, idB, "&hash=sha256", 200, nil, Counters{Total: 1, Context: 1, ContextSHA256: 1}},
		{"bad hash", keyA, idA, "&hash=sha512", 400, nil, Counters{Total: 1, Context: 1}},
		{"unknown id", keyA, "00000000-94d4-11ed-b0f8-a7e340234a4e", "", 404, nil, Counters{Total: 1, Context: 1, ContextSHA256: 1}},
		{"other company's incident", keyB, idA, "", 404, nil, Counters{Total: 1, Context: 1, ContextSHA256: 1}},
		{"not a uuid", keyA, "abc", "", 400, nil, Counters{Total: 1, Context: 1, ContextSHA256: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ts := start(t, Options{})
			r := do(t, "GET", ts.URL+"/api/incidents/"+tt.id+"/context?key="+tt.key+tt.query, "")
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", r.status, tt.wantStatus, r.body)
			}
			if diff := cmp.Diff(tt.wantKind, s.Counters()); diff != "" {
				t.Errorf("counters mismatch (-want +got):\n%s", diff)
			}
			if r.status != 200 {
				if e := decode[errorBody](t, r); e.Name == "" || e.Detail == "" {
					t.Errorf("error body %s lacks name/detail", r.body)
				}
				return
			}
			raw := decode[map[string]json.RawMessage](t, r)
			for _, k := range []string{"adversary_id", "currently_active", "mitre", "threat_details", "threat_triggers", "timestamp"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("context lacks %q: %s", k, r.body)
				}
			}
			rf, present := raw["related_files"]
			if tt.wantFiles == nil {
				if present {
					t.Errorf("related_files = %s, want absent", rf)
				}
				return
			}
			var files []string
			if err := json.Unmarshal(rf, &files); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantFiles, files); diff != "" {
				t.Errorf("related_files mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetailsAndActions(t *testing.T) {
	s, ts := start(t, Options{})
	u := func(p string) string { return ts.URL + "/api/incidents/" + idA + "/" + p + "?key=" + keyA }

	r := do(t, "POST", u("mute"), `{"comment":"noise"}`)
	if r.status != 200 || len(r.body) != 0 {
		t.Fatalf("mute: status %d body %q, want 200 with an empty body", r.status, r.body)
	}
	if r := do(t, "POST", u("mark-as-read"), ""); r.status != 200 {
		t.Fatalf("mark-as-read: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u("comment"), `{}`); r.status != 400 {
		t.Errorf("comment without text: status %d, want 400", r.status)
	}
	if r := do(t, "GET", u("close"), ""); r.status != 405 {
		t.Errorf("GET on an action: status %d, want 405", r.status)
	}
	r = do(t, "GET", u("details"), "")
	if r.status != 200 {
		t.Fatalf("details: %d %s", r.status, r.body)
	}
	raw := decode[map[string]json.RawMessage](t, r)
	if _, ok := raw["unread"]; ok {
		t.Errorf("details has unread; the real API calls it isUnread")
	}
	var d struct {
		IsUnread        bool   `json:"isUnread"`
		Status          string `json:"status"`
		StatusTimestamp string `json:"statusTimestamp"`
		Actions         []struct {
			Action, Comment string
		} `json:"actions"`
	}
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	want := []struct{ Action, Comment string }{{"read", ""}, {"mute", "noise"}}
	if diff := cmp.Diff(want, d.Actions); diff != "" {
		t.Errorf("actions mismatch (-want +got):\n%s", diff)
	}
	if d.IsUnread || d.Status != StatusMuted || d.StatusTimestamp != "2025-06-01T12:00:00Z" {
		t.Errorf("details = %+v, want read, muted at %s", d, testNow)
	}
	if r := do(t, "GET", ts.URL+"/api/incidents/"+idZ+"/details?key="+keyA, ""); r.status != 404 {
		t.Errorf("details of another company's incident: %d, want 404", r.status)
	}
	want2 := Counters{Total: 6, Action: 3, Other: 1, Details: 2} // GET on an action is "other" (405)
	if diff := cmp.Diff(want2, s.Counters()); diff != "" {
		t.Errorf("counters mismatch (-want +got):\n%s", diff)
	}
}

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })
