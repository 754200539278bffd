package views

import (
	"fmt"
	"io"
	"strings"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// PlanHumanOptions tune the human plan rendering.
type PlanHumanOptions struct {
	Color bool
	// Verbose prints full hashes and every hash line.
	Verbose bool
	// MaxHashLines caps the +/- lines printed per item (default 10); the
	// rest are counted. The plan file and JSON keep everything.
	MaxHashLines int
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
)

type planPrinter struct {
	w    io.Writer
	opts PlanHumanOptions
	p    *plan.Plan
	err  error
}

func (pp *planPrinter) printf(format string, args ...any) {
	if pp.err == nil {
		_, pp.err = fmt.Fprintf(pp.w, format, args...)
	}
}

func (pp *planPrinter) paint(code, s string) string {
	if !pp.opts.Color {
		return s
	}
	return code + s + ansiReset
}

func (pp *planPrinter) symbol(a provider.Action) string {
	switch a {
	case provider.Create:
		return pp.paint(ansiGreen, "+")
	case provider.Update:
		return pp.paint(ansiYellow, "~")
	case provider.Delete:
		return pp.paint(ansiRed, "-")
	}
	return " "
}

// warning prints one warning of the plan. A merged warning (several cases,
// one per detail line) is a summary line only, unless Verbose: the same
// warning shows on every plan, apply and show, and its list of cases would
// bury the plan. The JSON events, the plan file and the markdown keep it.
func (pp *planPrinter) warning(n plan.Note) {
	// A detail's line breaks are its producer's layout (each piece of text
	// from Lumu or Kibana in it is one line); control characters go.
	var lines []string
	for _, line := range strings.Split(n.Detail, "\n") {
		if line != "" {
			lines = append(lines, NoControl(line))
		}
	}
	summary := NoControl(n.Summary)
	if len(lines) > 1 && !pp.opts.Verbose {
		pp.printf("%s %s; -v lists them\n\n", pp.paint(ansiYellow, "Warning:"), summary)
		return
	}
	pp.printf("%s %s\n", pp.paint(ansiYellow, "Warning:"), summary)
	for _, line := range lines {
		pp.printf("  %s\n", line)
	}
	pp.printf("\n")
}

// WritePlanHuman renders p for people: drift first, then the changes per
// blocklist and OS with hash-level lines and provenance, then the summary.
func WritePlanHuman(w io.Writer, p *plan.Plan, opts PlanHumanOptions) error {
	if opts.MaxHashLines <= 0 {
		opts.MaxHashLines = 10
	}
	pp := &planPrinter{w: w, opts: opts, p: p}
	for _, n := range p.Warnings {
		pp.warning(n)
	}
	if !p.HasChanges() {
		pp.printf("%s\n", pp.paint(ansiGreen, NoChangesLine))
		pp.printf("%s\n", hashSummary(p.Summary))
		return pp.err
	}
	pp.drift()
	if p.Mode == plan.ModeDestroy {
		pp.printf("lumuctl will destroy every owned item of the selected blocklists:\n\n")
	} else {
		pp.printf("lumuctl will perform the following actions:\n\n")
	}
	for _, k := range p.Kibanas {
		if k.CreateContainer {
			pp.printf("  %s the endpoint_blocklists list in kibana %q will be created\n\n", pp.symbol(provider.Create), k.Name)
		}
	}
	for _, bp := range p.Blocklists {
		pp.blocklist(bp)
	}
	pp.printf("%s\n", pp.paint(ansiBold, PlanSummaryLine(p.Summary)))
	pp.printf("%s\n", hashSummary(p.Summary))
	return pp.err
}

// NoChangesLine is the summary of a plan without changes, in every
// rendering (human, markdown, JSON).
const NoChangesLine = "No changes. The blocklists match the configuration."

// PlanSummaryLine is "Plan: X to add, Y to change, Z to destroy.", the same
// line in the human, markdown and JSON renderings.
func PlanSummaryLine(s plan.Summary) string {
	return fmt.Sprintf("Plan: %d to add, %d to change, %d to destroy.", s.Add, s.Change, s.Destroy)
}

func hashSummary(s plan.Summary) string {
	return fmt.Sprintf("Hashes: +%d -%d, %d blocked after apply.", s.HashesAdded, s.HashesRemoved, s.BlockedAfter)
}

func (pp *planPrinter) drift() {
	var any bool
	for _, bp := range pp.p.Blocklists {
		if len(bp.Drift) > 0 {
			any = true
		}
	}
	if !any {
		return
	}
	pp.printf("%s\n\n", pp.paint(ansiBold, "Changed outside lumuctl (this plan restores them):"))
	for _, bp := range pp.p.Blocklists {
		for _, d := range bp.Drift {
			pp.printf("  %s %s (blocklist %s): %s\n", pp.symbol(provider.Update), NoControl(d.ItemID), bp.Name, strings.Join(d.What, ", "))
			pp.hashLines(d.Added, func(string) string { return "added outside lumuctl" }, "+")
			pp.hashLines(d.Removed, func(string) string { return "removed outside lumuctl" }, "-")
		}
	}
	pp.printf("\n")
}

func (pp *planPrinter) blocklist(bp plan.BlocklistPlan) {
	scope := "policy:all"
	if len(bp.PolicyIDs) > 0 {
		scope = "policies " + strings.Join(bp.PolicyIDs, ", ")
	}
	title := fmt.Sprintf("blocklist %q (kibana %q, %s)", bp.Name, bp.Kibana, scope)
	if bp.Orphan {
		title = fmt.Sprintf("blocklist %q (kibana %q): no longer in the configuration, its items are destroyed", bp.Name, bp.Kibana)
	}
	pp.printf("%s\n", pp.paint(ansiBold, title))
	if len(bp.Changes) == 0 {
		pp.printf("  no changes\n")
	}
	lastGroup := ""
	for _, c := range bp.Changes {
		group := c.OS + " · " + string(c.HashType)
		if c.OS == "" {
			group = "items outside lumuctl's layout"
		}
		if group != lastGroup {
			pp.printf("  %s\n", group)
			lastGroup = group
		}
		pp.change(bp, c)
	}
	if bp.Unchanged > 0 {
		pp.printf("  %d %s unchanged.\n", bp.Unchanged, plural(bp.Unchanged, "item", "items"))
	}
	pp.printf("\n")
}

func (pp *planPrinter) change(bp plan.BlocklistPlan, c plan.ItemChange) {
	var what string
	switch c.Action {
	case provider.Create:
		n := 0
		if c.After != nil {
			n = len(plan.ItemValues(*c.After))
		}
		what = fmt.Sprintf("will be created (%d %s)", n, plural(n, "hash", "hashes"))
	case provider.Update:
		what = fmt.Sprintf("will be updated in place (+%d -%d)", len(c.Added), len(c.Removed))
	case provider.Delete:
		what = fmt.Sprintf("will be destroyed (-%d)", len(c.Removed))
	}
	pp.printf("    %s %s %s\n", pp.symbol(c.Action), NoControl(c.ItemID), what)
	for _, r := range c.Reasons {
		pp.printf("        (%s)\n", NoControl(r))
	}
	if n := len(c.MovedIn); n > 0 {
		pp.printf("        (takes over %d %s from another item)\n", n, plural(n, "hash", "hashes"))
	}
	pp.hashLines(c.Added, func(h string) string { return provenanceText(bp.Provenance.Lookup(h), "") }, "+")
	pp.hashLines(c.Removed, func(h string) string {
		return provenanceText(bp.PriorProvenance.Lookup(h), "no longer reported; was ")
	}, "-")
}

func (pp *planPrinter) hashLines(hashes []string, why func(string) string, sign string) {
	limit := len(hashes)
	if !pp.opts.Verbose && limit > pp.opts.MaxHashLines {
		limit = pp.opts.MaxHashLines
	}
	color := ansiGreen
	if sign == "-" {
		color = ansiRed
	}
	for _, h := range hashes[:limit] {
		// Values removed or found outside lumuctl come from Kibana as they
		// were typed there: anything, escape sequences and line breaks
		// included.
		shown := NoControl(h)
		if !pp.opts.Verbose {
			shown = ShortHash(shown)
		}
		pp.printf("        %s %s  %s\n", pp.paint(color, sign), shown, why(h))
	}
	if rest := len(hashes) - limit; rest > 0 {
		pp.printf("        … %d more %s (the plan file and --json list every hash)\n", rest, plural(rest, "hash", "hashes"))
	}
}

// ShortHash abbreviates a hash as 3f2a…c9e1 (cutting on runes: a value
// found in Kibana need not be a hash).
func ShortHash(h string) string {
	rs := []rune(h)
	if len(rs) <= 12 {
		return h
	}
	return string(rs[:4]) + "…" + string(rs[len(rs)-4:])
}

// TopIncident is the incident every rendering names for a hash: the one
// with the most recent contact (ties: the smallest id). more is how many
// other incidents produced it. ok is false when refs is empty.
func TopIncident(refs []provider.IncidentRef) (top provider.IncidentRef, more int, ok bool) {
	if len(refs) == 0 {
		return top, 0, false
	}
	top = refs[0]
	for _, x := range refs[1:] {
		if x.LastContact.After(top.LastContact) || (x.LastContact.Equal(top.LastContact) && x.ID < top.ID) {
			top = x
		}
	}
	return top, len(refs) - 1, true
}

// shortID is the first 8 characters of an incident id.
func shortID(id string) string {
	if rs := []rune(id); len(rs) > 8 {
		return string(rs[:8])
	}
	return id
}

// provenanceText describes the incidents behind a hash:
// "incident 7c40be00 (Malware, QakBot) +2 more".
func provenanceText(refs []provider.IncidentRef, prefix string) string {
	r, more, ok := TopIncident(refs)
	if !ok {
		if prefix != "" {
			return "no longer reported"
		}
		return ""
	}
	var detail []string
	if len(r.AdversaryTypes) > 0 {
		detail = append(detail, oneLine(strings.Join(r.AdversaryTypes, "/"), 60))
	}
	if d := strings.TrimSpace(r.Description); d != "" {
		detail = append(detail, oneLine(d, 60))
	}
	s := prefix + "incident " + NoControl(shortID(r.ID))
	if len(detail) > 0 {
		s += " (" + strings.Join(detail, ", ") + ")"
	}
	if more > 0 {
		s += fmt.Sprintf(" +%d more", more)
	}
	return s
}

// oneLine strips control characters (values come from Lumu) and cuts s.
func oneLine(s string, max int) string {
	out := NoControl(s)
	if rs := []rune(out); len(rs) > max {
		out = string(rs[:max-1]) + "…"
	}
	return out
}

// NoControl replaces C0 and C1 control characters and DEL with spaces: text
// that came from Kibana or Lumu (item_ids, descriptions, messages) must not
// reach the terminal raw.
func NoControl(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}

// NoControlLines is NoControl keeping line breaks and tabs: for messages
// whose lines are lumuctl's own layout (each piece of outside text in them is
// already one line) but that may still carry an escape sequence.
func NoControlLines(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
}
