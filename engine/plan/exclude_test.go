package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// plannedHashes returns every value the plan's blocklist holds after it.
func plannedHashes(t *testing.T, e *env, p *Plan) map[string]bool {
	t.Helper()
	e.applyDirect(t, p)
	got := map[string]bool{}
	for _, it := range e.target.All() {
		for _, en := range it.Entries {
			for _, v := range en.Value {
				got[v] = true
			}
		}
	}
	return got
}

// TestExclusionsEnforcedForEverySource: providertest.Source knows nothing
// about exclude or the never-block list (provider.Filter does not even
// carry exclude) and yields every hash it is given; the engine still keeps
// the excluded and never-blocked hashes out of the plan, warns once per
// incident about a never-blocked hash, and applies a filter's exclude only
// to that filter's hashes.
func TestExclusionsEnforcedForEverySource(t *testing.T) {
	hs := hashes("x", 4)
	emptySHA256 := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	zeroSHA256 := strings.Repeat("0", 64)
	e := newEnv(t, fmt.Sprintf(`
ioc_filter "ex" {
  company = company.acme
  exclude = [%q, %q]
}
blocklist "lumu" {
  kibana   = kibana.prod
  sources  = [ioc_filter.ex]
  os_types = ["windows"]
}
blocklist "both" {
  kibana   = kibana.prod
  sources  = [ioc_filter.ex, ioc_filter.other]
  os_types = ["linux"]
}
`, hs[0], strings.ToUpper(hs[1])))
	e.src.Set("ex", provider.SHA256, hs[0], hs[1], hs[2], emptySHA256, zeroSHA256)
	e.src.Set("other", provider.SHA256, hs[1])
	p := e.mustPlan(t)

	byBlocklist := map[string]map[string]bool{}
	for _, bp := range p.Blocklists {
		set := map[string]bool{}
		for _, c := range bp.Changes {
			for _, h := range c.Added {
				set[h] = true
			}
		}
		byBlocklist[bp.Name] = set
	}
	if got, want := slices.Sorted(maps.Keys(byBlocklist["lumu"])), []string{hs[2]}; !slices.Equal(got, want) {
		t.Errorf("blocklist lumu adds %v, want only %v (exclude and never-block dropped)", got, want)
	}
	// hs[1] is excluded by ioc_filter "ex" only: "other" still yields it.
	if got, want := slices.Sorted(maps.Keys(byBlocklist["both"])), slices.Sorted(slices.Values([]string{hs[1], hs[2]})); !slices.Equal(got, want) {
		t.Errorf("blocklist both adds %v, want %v", got, want)
	}
	var note *Note
	for i := range p.Warnings {
		if strings.HasPrefix(p.Warnings[i].Summary, "Hash on the never-block list ignored") {
			note = &p.Warnings[i]
		}
	}
	if note == nil {
		t.Fatalf("no never-block warning in %+v", p.Warnings)
	}
	for _, want := range []string{
		"incident inc-ex lists the sha256 " + emptySHA256 + ", which is the sha256 of the empty file",
		"incident inc-ex lists the sha256 " + zeroSHA256 + ", which is an all-zero sha256 (a placeholder)",
	} {
		if !strings.Contains(note.Detail, want) {
			t.Errorf("never-block warning %q lacks %q", note.Detail, want)
		}
	}
	if strings.Contains(note.Detail, hs[0]) || strings.Contains(note.Detail, hs[2]) {
		t.Errorf("never-block warning names a hash not on the list: %q", note.Detail)
	}
}

// TestExcludeDropsKeptUnreadHashes: a hash the last apply blocked on behalf
// of an incident that could not be read this run is kept (keepUnread)
// unless exclude now names it.
func TestExcludeDropsKeptUnreadHashes(t *testing.T) {
	hs := hashes("u", 10)
	blocks := `
ioc_filter "ex" {
  company = company.acme
  %s
}
blocklist "lumu" {
  kibana   = kibana.prod
  sources  = [ioc_filter.ex]
  os_types = ["windows"]
}
`
	e := newEnv(t, fmt.Sprintf(blocks, ""))
	e.src.Set("ex", provider.SHA256, hs...)
	if got := plannedHashes(t, e, e.mustPlan(t)); len(got) != 10 {
		t.Fatalf("first apply blocked %d hashes, want 10", len(got))
	}
	e.prior.Incidents = func(bl, h string) []provider.IncidentRef {
		return []provider.IncidentRef{{ID: "inc-ex", Filter: "ex"}}
	}
	// The incident is listed but unread: without exclude, nothing leaves.
	e.src.Set("ex", provider.SHA256)
	e.src.Unread["ex"] = []string{"inc-ex"}
	if p := e.mustPlan(t); p.HasChanges() {
		t.Fatalf("unread incident: plan has changes %+v", p.Summary)
	}
	e.cfg = loadConfig(t, fmt.Sprintf(blocks, fmt.Sprintf("exclude = [%q]", hs[1])))
	p := e.mustPlan(t)
	if got, want := p.Summary.HashesRemoved, 1; got != want {
		t.Fatalf("removed %d hashes, want %d (%+v)", got, want, p.Summary)
	}
	got := plannedHashes(t, e, p)
	if got[hs[1]] || len(got) != 9 {
		t.Errorf("after exclude: blocked %v, want every hash but %s", slices.Sorted(maps.Keys(got)), hs[1])
	}
}
