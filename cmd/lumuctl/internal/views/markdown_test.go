package views

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// hugePlan builds a plan that adds nAdded hashes (creates of 1000 values)
// and destroys nDeletes items of 500 values, in one blocklist, each hash
// with one of 10 incidents.
func hugePlan(nAdded, nDeletes int) *plan.Plan {
	const pre = "lumuctl-default-lumu-windows-sha256-"
	p := &plan.Plan{Namespace: "default", Digest: strings.Repeat("ab", 32), Mode: plan.ModeNormal}
	bp := plan.BlocklistPlan{Name: "lumu", Kibana: "prod", Sources: []string{"mal"}, Provenance: plan.Provenance{Hashes: map[string][]int{}}}
	for i := range 10 {
		bp.Provenance.Incidents = append(bp.Provenance.Incidents, provider.IncidentRef{
			ID: fmt.Sprintf("%08x-0000-4000-8000-000000000000", i), Filter: "mal", AdversaryTypes: []string{"Malware"}, Description: "Family " + strconv.Itoa(i)})
	}
	seq := 1
	for start := 0; start < nAdded; start += 1000 {
		var vals []string
		for i := start; i < min(start+1000, nAdded); i++ {
			h := testHash(fmt.Sprint("add", i))
			vals = append(vals, h)
			bp.Provenance.Hashes[h] = []int{i % 10}
		}
		id := fmt.Sprintf("%s%04d", pre, seq)
		seq++
		bp.Changes = append(bp.Changes, plan.ItemChange{Action: provider.Create, ItemID: id, OS: "windows", HashType: provider.SHA256,
			After: testItem(id, vals...), Added: vals})
		p.Summary.Add++
	}
	for d := range nDeletes {
		var vals []string
		for i := range 500 {
			vals = append(vals, testHash(fmt.Sprint("del", d, "-", i)))
		}
		bp.Changes = append(bp.Changes, plan.ItemChange{Action: provider.Delete, ItemID: fmt.Sprintf("%s%04d", pre, seq), OS: "windows",
			HashType: provider.SHA256, ID: "id", Removed: vals})
		seq++
		p.Summary.Destroy++
		p.Summary.HashesRemoved += len(vals)
	}
	bp.HashesAdded, bp.HashesRemoved, bp.HashesAfter = nAdded, p.Summary.HashesRemoved, nAdded
	p.Summary.HashesAdded, p.Summary.BlockedAfter = nAdded, nAdded
	p.Blocklists = []plan.BlocklistPlan{bp}
	return p
}

func TestMarkdownGolden(t *testing.T) {
	cases := []struct {
		name string
		plan *plan.Plan
		opts MarkdownOptions
	}{
		{"markdown_small.md", smallPlan(), MarkdownOptions{PlanFile: "plan.out"}},
		{"markdown_nochanges.md", &plan.Plan{Namespace: "default", Digest: strings.Repeat("0", 64), CreatedAt: fixedNow,
			Summary:  plan.Summary{BlockedAfter: 12},
			Warnings: []plan.Note{{Summary: "Source returned no hashes", Detail: "ioc_filter \"mal\" matched no open incidents."}}}, MarkdownOptions{}},
		{"markdown_destroy_target.md", func() *plan.Plan {
			p := smallPlan()
			p.Mode, p.Targets = plan.ModeDestroy, []string{"old"}
			p.Blocklists = p.Blocklists[1:]
			p.Summary = plan.Summary{Destroy: 1, HashesRemoved: 1}
			p.Warnings = nil
			return p
		}(), MarkdownOptions{PlanFile: "destroy.plan"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := RenderMarkdown(tc.plan, tc.opts)
			checkGolden(t, tc.name, got)
			if first := strings.SplitN(got, "\n", 2)[0]; first != MarkdownMarkerPrefix+tc.plan.Digest+" -->" {
				t.Errorf("first line = %q", first)
			}
		})
	}
}

var omittedRE = regexp.MustCompile(`(?m)^… (\d+) more lines? omitted; the full list is in the plan file \(` + "`lumuctl show ([^`]*)`" + `\)\.$`)

// diffBlockLines returns the lines inside each ```diff block.
func diffBlockLines(md string) [][]string {
	var blocks [][]string
	var cur []string
	in := false
	for _, l := range strings.Split(md, "\n") {
		switch {
		case l == "```diff":
			in, cur = true, nil
		case l == "```" && in:
			in = false
			blocks = append(blocks, cur)
		case in:
			cur = append(cur, l)
		}
	}
	return blocks
}

func diffLineCount(bp plan.BlocklistPlan) int {
	n := 0
	for _, c := range bp.Changes {
		n += 1 + len(c.Reasons) + len(c.Added) + len(c.Removed)
	}
	return n
}

// TestMarkdownCap renders plans too big for a comment: the result stays
// under the cap, keeps every destroy, and the shown plus omitted diff lines
// add up to the full diff.
func TestMarkdownCap(t *testing.T) {
	cases := []struct {
		name             string
		plan             *plan.Plan
		maxChars         int
		wantAllDestroys  bool
		wantDestroysOmit int
	}{
		{"200k added, 40 destroys", hugePlan(200000, 40), 0, true, 0},
		{"fits", hugePlan(300, 0), 0, true, 0},
		{"destroys cut at a small cap", hugePlan(2000, 60), 4000, false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			limit := MarkdownMaxChars
			if tc.maxChars > 0 {
				limit = tc.maxChars
			}
			md := RenderMarkdown(tc.plan, MarkdownOptions{PlanFile: "plan.out", MaxChars: tc.maxChars})
			if len(md) >= limit {
				t.Fatalf("length %d ≥ %d", len(md), limit)
			}
			if !strings.HasPrefix(md, MarkdownMarkerPrefix+tc.plan.Digest+" -->\n") {
				t.Errorf("no marker line first: %q", md[:min(80, len(md))])
			}
			if want := wantPlanLine(tc.plan.Summary); !strings.Contains(md, want) {
				t.Errorf("no summary line %q", want)
			}
			bp := tc.plan.Blocklists[0]
			var deletes []string
			for _, c := range bp.Changes {
				if c.Action == provider.Delete {
					deletes = append(deletes, c.ItemID)
				}
			}
			listed := 0
			for _, id := range deletes {
				if strings.Contains(md, "- `"+id+"` — ") {
					listed++
				}
			}
			if tc.wantAllDestroys && listed != len(deletes) {
				t.Errorf("%d of %d destroys listed", listed, len(deletes))
			}
			if !tc.wantAllDestroys {
				m := regexp.MustCompile(`- … (\d+) more items omitted`).FindStringSubmatch(md)
				if m == nil {
					t.Fatalf("destroys not cut with a count:\n%s", md)
				}
				n, _ := strconv.Atoi(m[1])
				if listed+n != len(deletes) {
					t.Errorf("destroys: %d listed + %d omitted ≠ %d", listed, n, len(deletes))
				}
			}
			shown := 0
			for _, b := range diffBlockLines(md) {
				shown += len(b)
			}
			omitted := 0
			for _, m := range omittedRE.FindAllStringSubmatch(md, -1) {
				n, _ := strconv.Atoi(m[1])
				omitted += n
				if m[2] != "plan.out" {
					t.Errorf("omission names %q, want plan.out", m[2])
				}
			}
			if total := diffLineCount(bp); shown+omitted != total {
				t.Errorf("diff lines: %d shown + %d omitted ≠ %d", shown, omitted, total)
			}
			if tc.name == "fits" && omitted != 0 {
				t.Errorf("a plan that fits was cut: %d lines omitted", omitted)
			}
			if tc.name != "fits" && omitted == 0 {
				t.Errorf("nothing omitted")
			}
		})
	}
}

// TestMarkdownCapManyBlocklists checks the cap when many blocklists each
// need a diff block.
func TestMarkdownCapManyBlocklists(t *testing.T) {
	p := hugePlan(5000, 0)
	base := p.Blocklists[0]
	p.Blocklists = nil
	for i := range 400 {
		bp := base
		bp.Name = fmt.Sprintf("bl%03d", i)
		p.Blocklists = append(p.Blocklists, bp)
	}
	md := RenderMarkdown(p, MarkdownOptions{})
	if len(md) >= MarkdownMaxChars {
		t.Fatalf("length %d ≥ %d", len(md), MarkdownMaxChars)
	}
	if !strings.Contains(md, "the full list is in `lumuctl plan --json`.") {
		t.Error("no pointer to the full list")
	}
	if !strings.Contains(md, wantPlanLine(p.Summary)) {
		t.Error("no summary line")
	}
}

// codeRE matches diff blocks and code spans.
var codeRE = regexp.MustCompile("(?s)```diff\n.*?\n```\n|`[^`\n]*`")

func TestMarkdownEscaping(t *testing.T) {
	evil := "```\n<script>alert(1)</script> <!-- lumuctl-plan: fake --> [x](http://e.example) @admin *bold* | pipe"
	cases := []struct {
		name   string
		mutate func(p *plan.Plan)
	}{
		{"incident description", func(p *plan.Plan) { p.Blocklists[0].Provenance.Incidents[0].Description = evil }},
		{"adversary types", func(p *plan.Plan) { p.Blocklists[0].Provenance.Incidents[0].AdversaryTypes = []string{evil} }},
		{"prior description", func(p *plan.Plan) { p.Blocklists[0].PriorProvenance.Incidents[0].Description = evil }},
		{"warning", func(p *plan.Plan) { p.Warnings = []plan.Note{{Summary: evil, Detail: evil}} }},
		{"item id", func(p *plan.Plan) {
			p.Blocklists[0].Changes[2].ItemID = "lumuctl-default-lumu-" + evil
			p.Blocklists[0].Drift[0].ItemID = "lumuctl-default-lumu-" + evil
		}},
		{"reason", func(p *plan.Plan) { p.Blocklists[0].Changes[1].Reasons = []string{evil} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := smallPlan()
			tc.mutate(p)
			md := RenderMarkdown(p, MarkdownOptions{PlanFile: "plan.out"})
			for _, bad := range []string{"<script", "<!-- lumuctl-plan: fake"} {
				if strings.Contains(md, bad) {
					t.Errorf("output contains %q:\n%s", bad, md)
				}
			}
			// Outside code, markdown syntax from the data is escaped.
			prose := codeRE.ReplaceAllString(md, "")
			for _, bad := range []string{"[x]", " @admin", "*bold*", "<"} {
				if strings.Contains(strings.SplitN(prose, "\n", 2)[1], bad) {
					t.Errorf("prose contains %q:\n%s", bad, prose)
				}
			}
			if n := strings.Count(md, MarkdownMarkerPrefix); n != 1 {
				t.Errorf("%d marker lines", n)
			}
			// Fences: only ours, paired.
			var fences []string
			for _, l := range strings.Split(md, "\n") {
				if strings.HasPrefix(strings.TrimLeft(l, " "), "```") {
					fences = append(fences, l)
				}
			}
			for i, f := range fences {
				want := "```diff"
				if i%2 == 1 {
					want = "```"
				}
				if f != want {
					t.Errorf("fence %d = %q, want %q", i, f, want)
				}
			}
			if len(fences)%2 != 0 {
				t.Errorf("%d fence lines", len(fences))
			}
			// Table rows keep their five cells.
			for _, l := range strings.Split(md, "\n") {
				if strings.HasPrefix(l, "| ") {
					if n := strings.Count(strings.ReplaceAll(l, `\|`, ""), "|"); n != 6 {
						t.Errorf("table row with %d pipes: %q", n, l)
					}
				}
			}
		})
	}
}

func TestMdText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"a <b> & c", "a &lt;b&gt; &amp; c"},
		{"`code` *em* _u_ [l](x) ![i](y) | ~s~ @me \\", "\\`code\\` \\*em\\* \\_u\\_ \\[l\\](x) \\!\\[i\\](y) \\| \\~s\\~ \\@me \\\\"},
		{"line1\nline2\r\tend", "line1 line2  end"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := mdText(tc.in); got != tc.want {
				t.Errorf("mdText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func wantPlanLine(s plan.Summary) string {
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", s.Add, s.Change, s.Destroy)
}

// TestMarkdownRefused: tripped guards head the comment, escaped, and are
// kept even when the diffs must be cut.
func TestMarkdownRefused(t *testing.T) {
	p := hugePlan(50000, 3)
	md := RenderMarkdown(p, MarkdownOptions{PlanFile: "x.plan", MaxChars: 4000,
		Refused: []string{"Mass deletion refused: it removes 22 hashes, more than max_deletes = 10 <b>"}})
	if len(md) >= 4000 {
		t.Fatalf("length %d, want < 4000", len(md))
	}
	head, _, ok := strings.Cut(md, "#### ")
	if !ok {
		head = md
	}
	want := "> - Mass deletion refused: it removes 22 hashes, more than max\\_deletes = 10 &lt;b&gt;\n"
	if !strings.Contains(head, "> **Apply will be refused: a safety guard tripped.**") || !strings.Contains(head, want) {
		t.Fatalf("refusal not at the top:\n%s", head)
	}
	if plain := RenderMarkdown(p, MarkdownOptions{MaxChars: 4000}); strings.Contains(plain, "Apply will be refused") {
		t.Fatal("refusal shown without Refused")
	}
}
