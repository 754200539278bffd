package views

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/plan"
)

// TestMergedWarningIsOneLine: a warning merging several cases prints its
// summary once, with the cases only under -v; a one-case warning keeps its
// explanation.
func TestMergedWarningIsOneLine(t *testing.T) {
	p := &plan.Plan{Warnings: []plan.Note{
		{Summary: "Malformed hash from Lumu ignored (3 times, in 2 incidents)", Detail: "ioc_filter \"a\": one\nioc_filter \"a\": two\nioc_filter \"b\": three"},
		{Summary: "Lumu cache unreadable", Detail: "open cache.db: permission denied"},
	}}
	render := func(verbose bool) string {
		var b bytes.Buffer
		if err := WritePlanHuman(&b, p, PlanHumanOptions{Verbose: verbose}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	out := render(false)
	if !strings.Contains(out, "Warning: Malformed hash from Lumu ignored (3 times, in 2 incidents); -v lists them\n") {
		t.Errorf("no one-line summary:\n%s", out)
	}
	if strings.Contains(out, "two") {
		t.Errorf("cases listed without -v:\n%s", out)
	}
	if !strings.Contains(out, "Warning: Lumu cache unreadable\n  open cache.db: permission denied\n") {
		t.Errorf("a single-case warning lost its detail:\n%s", out)
	}
	if n := strings.Count(out, "Warning:"); n != 2 {
		t.Errorf("%d warnings printed, want 2:\n%s", n, out)
	}
	out = render(true)
	if !strings.Contains(out, "Warning: Malformed hash from Lumu ignored (3 times, in 2 incidents)\n  ioc_filter \"a\": one\n  ioc_filter \"a\": two\n  ioc_filter \"b\": three\n") {
		t.Errorf("-v does not list the cases:\n%s", out)
	}
}

// TestSummaryLineSameEverywhere: the markdown holds the line "Plan: X to
// add, Y to change, Z to destroy." exactly as the human rendering prints it
// (and as the JSON change_summary message says it), with or without changes.
func TestSummaryLineSameEverywhere(t *testing.T) {
	changed := &plan.Plan{Digest: strings.Repeat("a", 64), Summary: plan.Summary{Add: 1, Change: 2, Destroy: 3, HashesAdded: 4, HashesRemoved: 5, BlockedAfter: 6}}
	same := &plan.Plan{Digest: strings.Repeat("b", 64)}
	for name, p := range map[string]*plan.Plan{"changes": changed, "no changes": same} {
		var human bytes.Buffer
		if err := WritePlanHuman(&human, p, PlanHumanOptions{}); err != nil {
			t.Fatal(err)
		}
		want := NoChangesLine
		if p.HasChanges() {
			want = "Plan: 1 to add, 2 to change, 3 to destroy."
		}
		lines := func(s string) []string { return strings.Split(s, "\n") }
		has := func(s string) bool {
			for _, l := range lines(s) {
				if l == want {
					return true
				}
			}
			return false
		}
		if !has(human.String()) {
			t.Errorf("%s: the human rendering lacks the line %q:\n%s", name, want, human.String())
		}
		if md := RenderMarkdown(p, MarkdownOptions{}); !has(md) {
			t.Errorf("%s: the markdown lacks the line %q:\n%s", name, want, md)
		}
	}
}
