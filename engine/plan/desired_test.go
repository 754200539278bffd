package plan

import (
	"maps"
	"slices"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestDesiredSetAcrossSources: a blocklist's desired set is the union of
// its sources by hash type, each hash once, whatever the sources share,
// with hashes of several types, an empty source, and the hashes kept for
// an unread incident (keepUnread) that another source also yields. A hash
// added twice would fail pack.SortDesired ("listed twice"). The sets are
// large enough (2,000 sha256) for SortDesired's bucketed path.
func TestDesiredSetAcrossSources(t *testing.T) {
	e := newEnv(t, `
ioc_filter "both" {
  company    = company.acme
  hash_types = ["sha256", "md5"]
}
blocklist "lumu" {
  kibana   = kibana.prod
  sources  = [ioc_filter.mal, ioc_filter.both, ioc_filter.other]
  os_types = ["windows", "linux"]
  guard {
    allow_empty_sources = true
  }
}
`)
	sha := hashes("s", 3000)
	md5 := hashes("m", 40)
	for i := range md5 {
		md5[i] = md5[i][:32]
	}
	set := func(filter string, by map[provider.HashType][]string) {
		m := map[string]*provider.Indicator{}
		for ht, hs := range by {
			for _, h := range hs {
				m[h] = &provider.Indicator{Hash: h, Type: ht, Incidents: []provider.IncidentRef{{ID: "inc-" + filter, Filter: filter}}}
			}
		}
		e.src.Indicators[filter] = m
	}
	// mal: sha[0:2000]; both: sha[1000:2500] and md5[0:30]; other: nothing.
	set("mal", map[provider.HashType][]string{provider.SHA256: sha[:2000]})
	set("both", map[provider.HashType][]string{provider.SHA256: sha[1000:2500], provider.MD5: md5[:30]})
	set("other", nil)
	want := map[string]bool{}
	for _, h := range slices.Concat(sha[:2500], md5[:30]) {
		want[h] = true
	}
	p := e.mustPlan(t)
	if got := plannedHashes(t, e, p); !maps.Equal(got, want) {
		t.Fatalf("first apply blocked %d hashes, want %d", len(got), len(want))
	}
	if got, wantN := p.Summary.HashesAdded, 2*len(want); got != wantN {
		t.Fatalf("hashes added = %d, want %d (each hash once per OS)", got, wantN)
	}

	// mal's incident is now unread and yields nothing: what it blocked
	// stays, once, though both still yields half of it (sha[1000:2000])
	// and the other half (sha[0:1000]) comes from the state alone.
	recorded := map[string][]provider.IncidentRef{}
	for _, h := range sha[:2000] {
		recorded[h] = append(recorded[h], provider.IncidentRef{ID: "inc-mal", Filter: "mal"})
	}
	for _, h := range slices.Concat(sha[1000:2500], md5[:30]) {
		recorded[h] = append(recorded[h], provider.IncidentRef{ID: "inc-both", Filter: "both"})
	}
	e.prior.Incidents = func(bl, h string) []provider.IncidentRef { return recorded[h] }
	set("mal", nil)
	e.src.Unread["mal"] = []string{"inc-mal"}
	set("both", map[provider.HashType][]string{provider.SHA256: sha[1000:3000], provider.MD5: md5[10:40]})
	for _, h := range slices.Concat(sha[2500:3000], md5[30:40]) {
		want[h] = true
	}
	for _, h := range md5[:10] {
		delete(want, h) // both's own incident was read: these left it
	}
	p = e.mustPlan(t)
	if got, wantN := p.Summary.HashesAdded, 2*(500+10); got != wantN {
		t.Fatalf("hashes added = %d, want %d", got, wantN)
	}
	if got, wantN := p.Summary.HashesRemoved, 2*10; got != wantN {
		t.Fatalf("hashes removed = %d, want %d", got, wantN)
	}
	if got := plannedHashes(t, e, p); !maps.Equal(got, want) {
		t.Fatalf("second apply blocked %d hashes, want %d", len(got), len(want))
	}
}
