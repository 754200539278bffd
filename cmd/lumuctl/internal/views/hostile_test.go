package views

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// hostile holds what a hostile Lumu or Kibana can put in values lumuctl
// prints: escape sequences (clear screen, set title, colours, CSI as the
// single C1 byte), a bell, carriage returns and newlines that forge lines.
const hostile = "\x1b[2J\x1b]0;pwned\x07\u009b31m\r\nPlan: 0 to add"

// hostilePlan is a plan whose every string that comes from Lumu or Kibana
// carries hostile, in each place the views print.
func hostilePlan() *plan.Plan {
	h1 := strings.Repeat("ab", 32)
	h2 := strings.Repeat("cd", 32)
	itemID := "lumuctl-default-lumu-" + hostile
	ref := provider.IncidentRef{ID: "a0664d30-94d4-11ed-b0f8-a7e340234a4e", Company: "acme", Filter: "mal",
		AdversaryID: hostile, AdversaryTypes: []string{hostile, "Malware"}, Description: hostile,
		LastContact: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Status: hostile}
	return &plan.Plan{
		FormatVersion: plan.FormatVersion, Mode: plan.ModeNormal, Namespace: "default",
		Kibanas: []plan.KibanaPlan{{Name: "prod"}},
		Blocklists: []plan.BlocklistPlan{{
			Name: "lumu", Kibana: "prod",
			Changes: []plan.ItemChange{
				{Action: provider.Create, ItemID: "lumuctl-default-lumu-windows-sha256-1", OS: "windows", HashType: provider.SHA256,
					After: &provider.Item{ItemID: "lumuctl-default-lumu-windows-sha256-1", Name: hostile, Description: hostile,
						OSTypes: []string{"windows"}, Entries: []provider.Entry{{Field: "file.hash.sha256", Value: []string{h1}}}},
					Added: []string{h1}},
				{Action: provider.Delete, ItemID: itemID, ID: "so", ExpectVersion: "v", Removed: []string{h2}},
				// A value added to an owned item by hand in Kibana (issue 10
				// item 10): not a hash, so the update removes it, and the
				// plan lists it.
				{Action: provider.Update, ItemID: "lumuctl-default-lumu-windows-sha256-2", ID: "so2", ExpectVersion: "v",
					OS: "windows", HashType: provider.SHA256, Removed: []string{hostile, "\x1b[31mZZ\nPlan: nothing"},
					Reasons: []string{hostile}},
			},
			Drift: []plan.Drift{{ItemID: itemID, What: []string{"name"}},
				{ItemID: "lumuctl-default-lumu-windows-sha256-2", What: []string{"values"}, Added: []string{hostile}, Removed: []string{hostile}}},
			Provenance:      plan.Provenance{Incidents: []provider.IncidentRef{ref}, Hashes: map[string][]int{h1: {0}}},
			PriorProvenance: plan.Provenance{Incidents: []provider.IncidentRef{ref}, Hashes: map[string][]int{h2: {0}}},
		}},
		// A note's detail lines are laid out by its producer, which makes
		// outside text one line; control characters are still caught here.
		Warnings: []plan.Note{{Summary: hostile, Detail: "held by list \x1b]0;pwned\x07\u009b31m"}},
		Summary:  plan.Summary{Add: 1, Destroy: 1, HashesAdded: 1, HashesRemoved: 1, BlockedAfter: 1},
		Digest:   strings.Repeat("0", 64),
	}
}

// rawControl returns the first control character of s that a terminal
// would act on (C0 but newline, DEL, C1), or -1. Newlines are the views'
// own; a forged line is caught by the "Plan:" count.
func rawControl(s string) int {
	return strings.IndexFunc(s, func(r rune) bool {
		return (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0)
	})
}

// TestViewsNeutraliseHostileValues renders a plan full of values from Lumu
// and Kibana carrying escape sequences and line breaks: no view may pass a
// control character through raw, nor let a value forge a line.
func TestViewsNeutraliseHostileValues(t *testing.T) {
	p := hostilePlan()
	render := map[string]func() (string, error){
		"human": func() (string, error) {
			var b bytes.Buffer
			err := WritePlanHuman(&b, p, PlanHumanOptions{})
			return b.String(), err
		},
		"human verbose": func() (string, error) {
			var b bytes.Buffer
			err := WritePlanHuman(&b, p, PlanHumanOptions{Verbose: true})
			return b.String(), err
		},
		"markdown": func() (string, error) { return RenderMarkdown(p, MarkdownOptions{}), nil },
	}
	for name, r := range render {
		t.Run(name, func(t *testing.T) {
			out, err := r()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "pwned") {
				t.Fatalf("the hostile value is not shown at all; the test proves nothing:\n%s", out)
			}
			if i := rawControl(out); i >= 0 {
				start := max(i-40, 0)
				t.Errorf("raw control character %q in output near %q", out[i:i+1], out[start:min(i+40, len(out))])
			}
			for _, line := range strings.Split(out, "\n") {
				if l := strings.TrimSpace(line); strings.HasPrefix(l, "Plan: 0 to add") || strings.HasPrefix(l, "Plan: nothing") {
					t.Errorf("a value forged a line: %q", line)
				}
			}
		})
	}
}
