package plan

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

const twoBlocklists = `
blocklist "a" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = ["windows"]
  max_values_per_item = 1000
}
blocklist "b" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal, ioc_filter.other]
  os_types            = ["windows"]
  max_values_per_item = 1000
}
`

func refIDs(refs []provider.IncidentRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Filter+"/"+r.ID)
	}
	slices.Sort(out)
	return out
}

// TestPriorProvenanceIsPerBlocklist: a hash removed from two blocklists
// shows, in each, the incidents recorded for that blocklist only (one
// merged table showed the union of both).
func TestPriorProvenanceIsPerBlocklist(t *testing.T) {
	e := newEnv(t, twoBlocklists)
	gone := hashes("gone", 1)[0]
	e.src.Set("mal", provider.SHA256, append(hashes("keep", 3), gone)...)
	e.src.Set("other", provider.SHA256, hashes("other", 1)...)
	e.applyDirect(t, e.mustPlan(t))
	e.prior.Incidents = func(bl, h string) []provider.IncidentRef {
		if h != gone {
			return nil
		}
		return []provider.IncidentRef{{ID: "was-" + bl, Filter: "mal"}}
	}
	e.src.Set("mal", provider.SHA256, hashes("keep", 3)...)
	p := e.mustPlan(t)
	if len(p.Blocklists) != 2 {
		t.Fatalf("blocklists = %d", len(p.Blocklists))
	}
	for _, bp := range p.Blocklists {
		got := refIDs(bp.PriorProvenance.Lookup(gone))
		if want := []string{"mal/was-" + bp.Name}; !slices.Equal(got, want) {
			t.Errorf("blocklist %s: prior provenance of the removed hash = %v, want %v", bp.Name, got, want)
		}
		if len(bp.PriorProvenance.Incidents) != 1 {
			t.Errorf("blocklist %s: prior incident table = %v, want only its own incident", bp.Name, bp.PriorProvenance.Incidents)
		}
	}
}

// TestProvenanceIsPerBlocklistAndOnlyWhatChanges: each blocklist carries
// the incidents of its own sources; kept hashes whose incidents are the
// recorded ones are left out, kept hashes whose incidents changed (or were
// never recorded) are in, and a plan without changes carries only nothing.
func TestProvenanceIsPerBlocklistAndOnlyWhatChanges(t *testing.T) {
	e := newEnv(t, twoBlocklists)
	shared := hashes("shared", 2)
	e.src.Set("mal", provider.SHA256, shared...)
	e.src.Set("other", provider.SHA256, shared[0])
	p := e.mustPlan(t)
	byName := map[string]BlocklistPlan{}
	for _, bp := range p.Blocklists {
		byName[bp.Name] = bp
	}
	if got := refIDs(byName["a"].Provenance.Lookup(shared[0])); !slices.Equal(got, []string{"mal/inc-mal"}) {
		t.Errorf("blocklist a (source mal only): %v", got)
	}
	if got := refIDs(byName["b"].Provenance.Lookup(shared[0])); !slices.Equal(got, []string{"mal/inc-mal", "other/inc-other"}) {
		t.Errorf("blocklist b (sources mal, other): %v", got)
	}
	e.applyDirect(t, p)
	// Recorded: a has the incidents of this run; b recorded nothing for
	// shared[1] (say a failed blocklist at the last apply).
	e.prior.Incidents = func(bl, h string) []provider.IncidentRef {
		if bl == "b" && h == shared[1] {
			return nil
		}
		return byName[bl].Provenance.Lookup(h)
	}
	if p := e.mustPlan(t); p.HasChanges() {
		t.Fatalf("no-change plan has changes: %+v", p.Summary)
	} else {
		for _, bp := range p.Blocklists {
			if n := len(bp.Provenance.Hashes); n != 0 {
				t.Errorf("no-change plan, blocklist %s carries provenance of %d hashes", bp.Name, n)
			}
		}
	}
	// A new hash makes the plan write: a carries the new hash only; b the
	// new hash, shared[1] (never recorded) but not shared[0] (recorded as is).
	added := hashes("new", 1)[0]
	e.src.Set("mal", provider.SHA256, append(slices.Clone(shared), added)...)
	p = e.mustPlan(t)
	for _, bp := range p.Blocklists {
		var got []string
		for h := range bp.Provenance.Hashes {
			got = append(got, h)
		}
		slices.Sort(got)
		want := []string{added}
		if bp.Name == "b" {
			want = append(want, shared[1])
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("blocklist %s: provenance for %v, want %v", bp.Name, got, want)
		}
	}
}

// TestOlderPlanFileRefused: the JSON plan files of format versions 1 and 2,
// and a compressed file with an older version, are refused as made by an
// older lumuctl, never read.
func TestOlderPlanFileRefused(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	e.src.Set("mal", provider.SHA256, hashes("a", 5)...)
	var buf bytes.Buffer
	if err := Encode(&buf, e.mustPlan(t)); err != nil {
		t.Fatal(err)
	}
	head, body := unpackFile(t, buf.Bytes())
	older := bytes.Replace(head, []byte(versionField(FormatVersion)), []byte(versionField(FormatVersion-1)), 1)
	for name, data := range map[string][]byte{
		"json v1":       []byte(`{"format_version":1,"tool_version":"0.1.0","mode":"normal","provenance":{}}` + "\n"),
		"json v2":       []byte(`{"format_version":2,"tool_version":"0.2.0","mode":"normal"}` + "\n"),
		"compressed v2": packFile(t, older, body),
	} {
		p, err := Decode(bytes.NewReader(data))
		if p != nil || !IsDecodeError(err) || !strings.Contains(err.Error(), "made by an older lumuctl") {
			t.Errorf("%s: Decode = %v, %v; want a refusal naming an older lumuctl", name, p, err)
		}
	}
}
