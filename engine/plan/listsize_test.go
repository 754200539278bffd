package plan

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

const onePerItem = `
blocklist "lumu" {
  kibana              = kibana.prod
  sources             = [ioc_filter.mal]
  os_types            = ["windows"]
  max_values_per_item = 1
}
`

func putForeign(e *env, n int) {
	for i := range n {
		e.target.Put(provider.Item{ItemID: fmt.Sprintf("team-b-%05d", i), OSTypes: []string{"windows"},
			Entries: []provider.Entry{{Field: "file.hash.sha256", Value: hashes(fmt.Sprintf("f%d", i), 1)}}})
	}
}

// Issue 10, item 6: with max_values_per_item = 1 and 12,000 hashes the
// plan said "12000 to add" and apply filled the shared list to 10,000,
// locking every other team out. Now the plan fails before any write and
// says how many items it needs and how to fit.
func TestPlanRefusesToOverfillTheSharedList(t *testing.T) {
	e := newEnv(t, strings.Replace(onePerItem, `["windows"]`, `["windows", "macos", "linux"]`, 1))
	e.src.Set("mal", provider.SHA256, hashes("a", 4_000)...)
	p, diags := e.plan(t)
	if !diags.HasErrors() || IsGuardTrip(diags) {
		t.Fatalf("diags = %v", diags)
	}
	d := diags[len(diags)-1]
	for _, want := range []string{
		"Kibana blocklist would be too full",
		`kibana "prod" would hold 12000 items: 12000 owned by this configuration and 0 by others`,
		"list_headroom = 500 keeps 500 of them free for others, so this configuration may grow the list to at most 9500 items; the plan needs 2500 more",
		`blocklist "lumu" would use 12000 items for 12000 hashes with max_values_per_item = 1, and about 6 at 2000`,
		"Raise max_values_per_item",
	} {
		if !strings.Contains(d.Summary+": "+d.Detail, want) {
			t.Errorf("missing %q in %s: %s", want, d.Summary, d.Detail)
		}
	}
	if d.Subject == nil || d.Subject.Start.Line == 0 {
		t.Error("no source range")
	}
	if p == nil || p.Summary.Add != 12_000 {
		t.Fatalf("the refused plan should still be shown")
	}
	if e.target.TotalWrites() != 0 {
		t.Fatal("plan wrote")
	}
}

func TestListCountIncludesForeignItems(t *testing.T) {
	e := newEnv(t, onePerItem)
	putForeign(e, 600)
	e.src.Set("mal", provider.SHA256, hashes("a", 9_000)...)
	_, diags := e.plan(t)
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "would hold 9600 items: 9000 owned by this configuration and 600 by others") {
		t.Fatalf("diags = %v", diags)
	}

	// 400 foreign items: 9,400 fits under 10,000 - 500.
	e = newEnv(t, onePerItem)
	putForeign(e, 400)
	e.src.Set("mal", provider.SHA256, hashes("a", 9_000)...)
	if _, diags := e.plan(t); diags.HasErrors() {
		t.Fatalf("diags = %v", diags)
	}

	// list_headroom = 0 allows exactly 10,000.
	e = newEnv(t, onePerItem)
	e.cfg.Kibanas["prod"].ListHeadroom = 0
	putForeign(e, 1000)
	e.src.Set("mal", provider.SHA256, hashes("a", 9_000)...)
	if _, diags := e.plan(t); diags.HasErrors() {
		t.Fatalf("headroom 0, 10,000 items: %v", diags)
	}
	e.src.Set("mal", provider.SHA256, hashes("a", 9_001)...)
	if _, diags := e.plan(t); !diags.HasErrors() {
		t.Fatal("10,001 items accepted")
	}
}

// A list that is already too full can always be shrunk, and a plan that
// does not grow it is not refused.
func TestOverfullListCanShrink(t *testing.T) {
	e := newEnv(t, onePerItem)
	e.src.Set("mal", provider.SHA256, hashes("a", 100)...)
	e.applyDirect(t, e.mustPlan(t))
	putForeign(e, 9_800) // someone else filled the list meanwhile
	e.src.Set("mal", provider.SHA256, hashes("a", 90)...)
	p := e.mustPlan(t, func(o *Options) { o.AllowMassDelete = true })
	if p.Summary.Destroy != 10 {
		t.Fatalf("summary = %+v", p.Summary)
	}
	e.src.Set("mal", provider.SHA256, hashes("a", 101)...)
	if _, diags := e.plan(t); !diags.HasErrors() || !strings.Contains(diags.Error(), "would hold 9901 items") {
		t.Fatalf("growing an overfull list: %v", diags)
	}
}

// One group of 12,000 hashes at one per item cannot even be packed: the
// same error, before packing (it was an "internal error" from the packer).
func TestUnpackableBlocklistIsTooFull(t *testing.T) {
	e := newEnv(t, onePerItem)
	e.src.Set("mal", provider.SHA256, hashes("a", 12_000)...)
	p, diags := e.plan(t)
	if p != nil || !diags.HasErrors() || strings.Contains(diags.Error(), "internal error") {
		t.Fatalf("diags = %v", diags)
	}
	if !strings.Contains(diags.Error(), `Blocklist "lumu" needs at least 12000 items in the endpoint_blocklists list of kibana "prod" for its 12000 hashes (all OSes) with max_values_per_item = 1`) ||
		!strings.Contains(diags.Error(), "at 2000 it needs about 6") && !strings.Contains(diags.Error(), "at 2000 it needs about 1") {
		t.Fatalf("diags = %v", diags)
	}
}
