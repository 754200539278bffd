package lumusim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	keyA = "key-company-a"
	keyB = "key-company-b"

	idA = "a0664d30-94d4-11ed-b0f8-a7e340234a4e" // open Malware, 1 day ago, files
	idB = "6eddaf40-938c-11ed-b0f8-a7e340234a4e" // closed C2C, 2 days, no files
	idC = "8c5efc90-aca5-11ed-9fd0-e5fb50c818f6" // muted Phishing, 3 days
	idD = "7c40be00-a7cf-11ed-9fd0-e5fb50c818f6" // open DGA, 35 days
	idE = "14fd84b0-9bdd-11ed-a0c7-dd6f8e69d343" // open Malware+Mining, 10 days
	idZ = "26fd6e60-ad52-11ed-8d57-0f9b6b8d54f0" // company B's only incident

	sha256a = "fa9b55c8cf28b2df3218df833a4ff4865426645982bcabe89893c98bebbc4fb3"
	sha256b = "72befb5732d1dfa586c1d7db6865fc5c3b0e473f7d58428be66080679b57211f"
	sha1a   = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
)

func ago(d time.Duration) time.Time { return testNow.Add(-d) }

const day = 24 * time.Hour

// fixture returns two companies: A with five incidents, B with one.
func fixture() []Company {
	mk := func(id, status string, last time.Time, types []string, labels map[string]int) *Incident {
		return &Incident{
			ID: id, Timestamp: last.Add(-time.Hour), StatusTimestamp: last.Add(-time.Hour), Status: status,
			Contacts: 3, AdversaryID: "adv-" + id[:4] + ".example", AdversaryTypes: types, Description: "d",
			LabelDistribution: labels, TotalEndpoints: 1, FirstContact: last.Add(-time.Hour), LastContact: last,
			Unread: true, CurrentlyActive: true,
		}
	}
	a := mk(idA, StatusOpen, ago(day), []string{"Malware"}, map[string]int{"548": 3})
	a.RelatedFiles = map[HashType][]string{SHA256: {sha256a, sha256b}, SHA1: {sha1a}}
	return []Company{
		{UUID: "10228d9c-ff18-4251-ac19-514185e00f17", Key: keyA, Incidents: []*Incident{
			a,
			mk(idB, StatusClosed, ago(2*day), []string{"C2C"}, map[string]int{"0": 3}),
			mk(idC, StatusMuted, ago(3*day), []string{"Phishing"}, map[string]int{"0": 3}),
			mk(idD, StatusOpen, ago(35*day), []string{"DGA"}, map[string]int{"147": 3}),
			mk(idE, StatusOpen, ago(10*day), []string{"Malware", "Mining"}, map[string]int{"989": 2, "0": 1}),
		}},
		{UUID: "3aac00ce-229c-45ad-ada0-8585cec4f0e3", Key: keyB, Incidents: []*Incident{
			mk(idZ, StatusOpen, ago(day), []string{"Malware"}, map[string]int{"0": 3}),
		}},
	}
}

// start serves a fixture Server with a fixed clock.
func start(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Companies == nil && opts.Scenario == nil {
		opts.Companies = fixture()
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// listPage is the decoded list response.
type listPage struct {
	Items []struct {
		ID          string `json:"id"`
		Status      string `json:"status"`
		LastContact string `json:"lastContact"`
	} `json:"items"`
	Timestamp      string         `json:"timestamp"`
	PaginationInfo map[string]int `json:"paginationInfo"`
}

func (p listPage) ids() []string {
	out := []string{}
	for _, it := range p.Items {
		out = append(out, it.ID)
	}
	return out
}
