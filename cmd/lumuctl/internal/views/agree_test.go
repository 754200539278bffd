package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// agreePlan is smallPlan plus a second blocklist that adds and removes the
// same hashes as "lumu" with other incidents (provenance is per
// blocklist), and a hash with two incidents contacted at the same time.
func agreePlan() *plan.Plan {
	p := smallPlan()
	h := func(i int) string { return testHash(fmt.Sprintf("h%d", i)) }
	const pre = "lumuctl-default-edr-windows-sha256-"
	t0 := time.Date(2026, 10, 29, 8, 0, 0, 0, time.UTC)
	edr := plan.BlocklistPlan{
		Name: "edr", Kibana: "prod", Sources: []string{"other"},
		Changes: []plan.ItemChange{
			{Action: provider.Update, ItemID: pre + "0001", OS: "windows", HashType: provider.SHA256, ID: "id-e1", ExpectVersion: "WzMsMV0=",
				After: testItem(pre+"0001", h(1), h(2), h(8)), Added: []string{h(1), h(2)}, Removed: []string{h(5), h(6)}},
		},
		Unchanged: 1, HashesBefore: 3, HashesAdded: 2, HashesRemoved: 2, HashesAfter: 3,
		Provenance: plan.Provenance{
			Incidents: []provider.IncidentRef{
				{ID: "aaaa0000-edr", Company: "acme", Filter: "other", AdversaryTypes: []string{"Spam"}, Description: "edr one", LastContact: t0},
				{ID: "0000bbbb-edr", Company: "acme", Filter: "other", AdversaryTypes: []string{"Spam"}, Description: "edr two", LastContact: t0},
			},
			Hashes: map[string][]int{h(1): {0}, h(2): {0, 1}},
		},
		PriorProvenance: plan.Provenance{
			Incidents: []provider.IncidentRef{{ID: "cccc1111-edr-old", Company: "acme", Filter: "other", Description: "edr closed"}},
			Hashes:    map[string][]int{h(5): {0}},
		},
	}
	p.Blocklists = append(p.Blocklists[:1], edr, p.Blocklists[1])
	p.Summary.Change++
	p.Summary.HashesAdded += 2
	p.Summary.HashesRemoved += 2
	p.Summary.BlockedAfter += 3
	return p
}

// rendering is what the three renderings must agree on: the totals, per
// item write its hash counts, and per hash line its provenance.
type rendering struct {
	totals string
	items  map[string]string // "blocklist item" -> "+a -r"
	hashes map[string]string // "blocklist item ±hash" -> "incident 7c40be00 +2" or ""
}

func newRendering() *rendering {
	return &rendering{items: map[string]string{}, hashes: map[string]string{}}
}

func provKey(id string, more int) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf("incident %s +%d", id, more)
}

var (
	incidentRE = regexp.MustCompile(`incident (\S+)`)
	moreRE     = regexp.MustCompile(` \+(\d+) more`)
)

// parseProv reads the provenance of a human or markdown hash line.
func parseProv(text string) string {
	m := incidentRE.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	more := 0
	if mm := moreRE.FindStringSubmatch(text); mm != nil {
		more, _ = strconv.Atoi(mm[1])
	}
	return provKey(m[1], more)
}

func totalsLine(add, change, destroy, hAdd, hRemove, blocked int) string {
	return fmt.Sprintf("%d/%d/%d hashes +%d -%d =%d", add, change, destroy, hAdd, hRemove, blocked)
}

var (
	planLineRE   = regexp.MustCompile(`(?m)^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy\.$`)
	hashesLineRE = regexp.MustCompile(`(?m)^Hashes: \+(\d+) -(\d+), (\d+) blocked after apply\.$`)
)

func textTotals(t *testing.T, name, s string) string {
	t.Helper()
	p, h := planLineRE.FindStringSubmatch(s), hashesLineRE.FindStringSubmatch(s)
	if p == nil || h == nil {
		t.Fatalf("%s: no summary lines:\n%s", name, s)
	}
	n := func(x string) int { v, _ := strconv.Atoi(x); return v }
	return totalsLine(n(p[1]), n(p[2]), n(p[3]), n(h[1]), n(h[2]), n(h[3]))
}

func parseHuman(t *testing.T, s string) *rendering {
	r := newRendering()
	r.totals = textTotals(t, "human", s)
	_, actions, ok := strings.Cut(s, "lumuctl will perform the following actions:\n")
	if !ok {
		t.Fatalf("human: no actions:\n%s", s)
	}
	blRE := regexp.MustCompile(`^blocklist "([^"]+)"`)
	itemRE := regexp.MustCompile(`^    [+~-] (\S+) will be (created \((\d+) hash|updated in place \(\+(\d+) -(\d+)\)|destroyed \(-(\d+)\))`)
	hashRE := regexp.MustCompile(`^        ([+-]) (\S+)(?:  (.*))?$`)
	var bl, item string
	var added, removed int
	for _, line := range strings.Split(actions, "\n") {
		if m := blRE.FindStringSubmatch(line); m != nil {
			bl = m[1]
			continue
		}
		if m := itemRE.FindStringSubmatch(line); m != nil {
			item = m[1]
			added, removed = 0, 0
			switch {
			case m[3] != "":
				added, _ = strconv.Atoi(m[3])
			case m[4] != "":
				added, _ = strconv.Atoi(m[4])
				removed, _ = strconv.Atoi(m[5])
			default:
				removed, _ = strconv.Atoi(m[6])
			}
			r.items[bl+" "+item] = fmt.Sprintf("+%d -%d", added, removed)
			continue
		}
		if m := hashRE.FindStringSubmatch(line); m != nil {
			r.hashes[bl+" "+item+" "+m[1]+m[2]] = parseProv(m[3])
		}
	}
	return r
}

func parseMarkdown(t *testing.T, s string) *rendering {
	r := newRendering()
	r.totals = textTotals(t, "markdown", s)
	blRE := regexp.MustCompile("^#### blocklist `([^`]+)`")
	itemRE := regexp.MustCompile(`^@@ [+~-] (\S+) .*: (create \(\+(\d+)\)|update in place \(\+(\d+) -(\d+)\)|destroy \(-(\d+)\)) @@$`)
	hashRE := regexp.MustCompile(`^([+-]) (\S+)(?:  (.*))?$`)
	var bl, item string
	for _, line := range strings.Split(s, "\n") {
		if m := blRE.FindStringSubmatch(line); m != nil {
			bl, item = m[1], ""
			continue
		}
		if m := itemRE.FindStringSubmatch(line); m != nil {
			item = m[1]
			var added, removed int
			switch {
			case m[3] != "":
				added, _ = strconv.Atoi(m[3])
			case m[4] != "":
				added, _ = strconv.Atoi(m[4])
				removed, _ = strconv.Atoi(m[5])
			default:
				removed, _ = strconv.Atoi(m[6])
			}
			r.items[bl+" "+item] = fmt.Sprintf("+%d -%d", added, removed)
			continue
		}
		if item == "" {
			continue
		}
		if line == "```" {
			item = ""
			continue
		}
		if m := hashRE.FindStringSubmatch(line); m != nil {
			r.hashes[bl+" "+item+" "+m[1]+m[2]] = parseProv(m[3])
		}
	}
	return r
}

// jsonHashes adds the hash lines of one JSON change.
func (r *rendering) jsonChange(c JSONChange) {
	key := c.Blocklist + " " + c.ItemID
	r.items[key] = fmt.Sprintf("+%d -%d", len(c.Added), len(c.Removed))
	for sign, list := range map[string][]JSONHash{"+": c.Added, "-": c.Removed} {
		for _, h := range list {
			var refs []provider.IncidentRef
			for _, in := range h.Incidents {
				lc, _ := time.Parse(time.RFC3339Nano, in.LastContact)
				refs = append(refs, provider.IncidentRef{ID: in.ID, LastContact: lc})
			}
			top, more, ok := TopIncident(refs)
			prov := ""
			if ok {
				prov = provKey(shortID(top.ID), more)
			}
			r.hashes[key+" "+sign+h.Hash] = prov
		}
	}
}

func parseEvents(t *testing.T, s string) *rendering {
	r := newRendering()
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var head MessageHeader
		if err := json.Unmarshal([]byte(line), &head); err != nil {
			t.Fatal(err)
		}
		switch head.Type {
		case MessagePlannedChange:
			var m PlannedChangeMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			r.jsonChange(m.Change)
		case MessageChangeSummary:
			var m ChangeSummaryMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			c := m.Changes
			r.totals = totalsLine(c.Add, c.Change, c.Remove, c.HashesAdded, c.HashesRemoved, c.BlockedAfter)
		}
	}
	return r
}

func parseDocument(t *testing.T, data []byte) *rendering {
	var doc JSONPlan
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	r := newRendering()
	s := doc.Summary
	r.totals = totalsLine(s.Add, s.Change, s.Destroy, s.HashesAdded, s.HashesRemoved, s.BlockedAfter)
	for _, b := range doc.Blocklists {
		for _, c := range b.Changes {
			r.jsonChange(c.JSONChange)
		}
	}
	return r
}

// TestRenderingsAgree renders one plan as text (verbose: every hash line),
// as JSON events, as markdown and as the show --json document, and checks
// that all four say the same totals, the same hash counts per item write,
// and, for every hash line, the same incident and number of others.
func TestRenderingsAgree(t *testing.T) {
	p := agreePlan()
	var human bytes.Buffer
	if err := WritePlanHuman(&human, p, PlanHumanOptions{Verbose: true}); err != nil {
		t.Fatal(err)
	}
	var events bytes.Buffer
	if err := NewEvents(&events, "test", fixedClock).Plan(p); err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(PlanDocument(p))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*rendering{
		"human":    parseHuman(t, human.String()),
		"markdown": parseMarkdown(t, RenderMarkdown(p, MarkdownOptions{})),
		"events":   parseEvents(t, events.String()),
		"document": parseDocument(t, doc),
	}
	// The model itself, for the counts every rendering must show.
	want := newRendering()
	s := p.Summary
	want.totals = totalsLine(s.Add, s.Change, s.Destroy, s.HashesAdded, s.HashesRemoved, s.BlockedAfter)
	lines := 0
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			added := len(c.Added)
			if c.Action == provider.Create && c.After != nil {
				added = len(plan.ItemValues(*c.After))
			}
			want.items[bp.Name+" "+c.ItemID] = fmt.Sprintf("+%d -%d", added, len(c.Removed))
			lines += len(c.Added) + len(c.Removed)
		}
	}
	if len(want.items) < 5 || lines < 10 {
		t.Fatalf("the plan is too small to compare: %d items, %d hash lines", len(want.items), lines)
	}
	names := []string{"human", "markdown", "events", "document"}
	for _, name := range names {
		r := got[name]
		if r.totals != want.totals {
			t.Errorf("%s totals %q, want %q", name, r.totals, want.totals)
		}
		if !mapsEqual(r.items, want.items) {
			t.Errorf("%s item counts %v, want %v", name, r.items, want.items)
		}
		if len(r.hashes) != lines {
			t.Errorf("%s shows %d hash lines, want %d", name, len(r.hashes), lines)
		}
	}
	ref := got["events"]
	for _, name := range names[:2] {
		for _, k := range sortedKeys(ref.hashes) {
			if g, ok := got[name].hashes[k]; !ok || g != ref.hashes[k] {
				t.Errorf("%s: %s shows %q, the JSON events %q", name, k, g, ref.hashes[k])
			}
		}
	}
	if !mapsEqual(got["document"].hashes, ref.hashes) {
		t.Errorf("the show --json document and the JSON events differ in provenance")
	}
	// Provenance is per blocklist: the same hash added to two blocklists
	// names each blocklist's own incident.
	h1 := testHash("h1")
	a, b := ref.hashes["lumu lumuctl-default-lumu-windows-sha256-0001 +"+h1], ref.hashes["edr lumuctl-default-edr-windows-sha256-0001 +"+h1]
	if a == "" || b == "" || a == b {
		t.Errorf("hash %s: lumu says %q, edr says %q; want each blocklist's own incident", h1[:8], a, b)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestSavedPlanRendersTheSame: a plan whose updates carry their values as
// a change of the live item (plan file format 4) renders the same, as
// text, markdown, JSON events and the show --json document, before it is
// saved and once read back from its file (without the live items).
func TestSavedPlanRendersTheSame(t *testing.T) {
	p := agreePlan()
	diffs := 0
	for _, bp := range p.Blocklists {
		for i := range bp.Changes {
			c := &bp.Changes[i]
			if c.Action != provider.Create && c.ID == "" { // what a saved plan must carry
				c.ID = "id-" + c.ItemID
			}
			if c.Action != provider.Create && c.ExpectVersion == "" {
				c.ExpectVersion = "WzEsMV0="
			}
			if c.Action != provider.Update {
				continue
			}
			c.After.ID, c.After.Version = c.ID, c.ExpectVersion
			vals := c.After.Entries[0].Value
			slices.Sort(vals)
			add := slices.Concat(c.Added, c.MovedIn)
			slices.Sort(add)
			drop := slices.Clone(c.Removed)
			slices.Sort(drop)
			c.Diff = &plan.ValueDiff{Drop: drop, Add: add, Count: len(vals)}
			diffs++
		}
	}
	if diffs == 0 {
		t.Fatal("no update to save as a value change")
	}
	if err := plan.Seal(p); err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := plan.Encode(&file, p); err != nil {
		t.Fatal(err)
	}
	saved, err := plan.Decode(&file)
	if err != nil {
		t.Fatal(err)
	}
	unresolved := 0
	for _, bp := range saved.Blocklists {
		for _, c := range bp.Changes {
			if c.Unresolved() {
				unresolved++
			}
		}
	}
	if unresolved != diffs {
		t.Fatalf("%d updates read back without their values, want %d", unresolved, diffs)
	}
	render := func(p *plan.Plan) map[string]string {
		var human, events bytes.Buffer
		if err := WritePlanHuman(&human, p, PlanHumanOptions{Verbose: true}); err != nil {
			t.Fatal(err)
		}
		if err := NewEvents(&events, "test", fixedClock).Plan(p); err != nil {
			t.Fatal(err)
		}
		doc, err := json.MarshalIndent(PlanDocument(p), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"human": human.String(), "events": events.String(), "document": string(doc),
			"markdown": RenderMarkdown(p, MarkdownOptions{})}
	}
	before, after := render(p), render(saved)
	for _, k := range sortedKeys(before) {
		if before[k] != after[k] {
			t.Errorf("%s of the saved plan differs:\n--- made\n%s\n--- saved\n%s", k, before[k], after[k])
		}
	}
	if !strings.Contains(after["document"], `"value_change"`) || !strings.Contains(after["document"], `"body_sha256"`) {
		t.Errorf("the show --json document does not carry the value changes:\n%s", after["document"])
	}
}
