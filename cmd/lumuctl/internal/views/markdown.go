package views

import (
	"fmt"
	"strings"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// MarkdownMaxChars bounds RenderMarkdown's output: GitHub refuses comments of
// 65,536 characters or more; the rendering always stays below this, counted
// in bytes (so in characters too).
const MarkdownMaxChars = 65000

// MarkdownMarkerPrefix starts the hidden first line of the markdown
// rendering, `<!-- lumuctl-plan: DIGEST -->`. CI finds its earlier comment by
// this prefix and updates it in place.
const MarkdownMarkerPrefix = "<!-- lumuctl-plan: "

// MarkdownOptions tune RenderMarkdown.
type MarkdownOptions struct {
	// PlanFile names the saved plan (plan --out) that holds the full list;
	// it is quoted in the omission notes. Empty: the notes point to
	// `lumuctl plan --json` instead.
	PlanFile string
	// MaxChars overrides MarkdownMaxChars when positive and smaller (tests).
	MaxChars int
	// Refused lists why apply would refuse this plan (tripped safety
	// guards, as "summary: detail"). They are shown first, right under the
	// title, and never cut before the diffs are.
	Refused []string
}

// mdDescriptionRunes bounds an incident description in a diff line.
const mdDescriptionRunes = 80

// mdMaxWarnings bounds the warnings listed; the rest are counted.
const mdMaxWarnings = 50

// RenderMarkdown renders p for a pull-request comment: the hidden marker
// line with the plan digest, a title, a per-blocklist summary table, the
// changes made outside lumuctl, every destroyed item, a ```diff block per
// blocklist with one line per hash and its provenance, warnings, and the
// summary lines of the human plan.
//
// The result is always shorter than MarkdownMaxChars: the diff blocks are
// cut first (with a count of omitted lines and a pointer to the plan file);
// the destroys, drift and summary table only when they alone do not fit.
// Text that comes from Lumu or Kibana (descriptions, warnings, item ids) is
// escaped so it cannot break the markdown or inject HTML.
func RenderMarkdown(p *plan.Plan, opts MarkdownOptions) string {
	limit := MarkdownMaxChars
	if opts.MaxChars > 0 && opts.MaxChars < limit {
		limit = opts.MaxChars
	}
	r := &mdRenderer{p: p, opts: opts}
	if p == nil {
		return MarkdownMarkerPrefix + "none -->\n\nNo plan.\n"
	}
	marker := MarkdownMarkerPrefix + mdCodeSafe(p.Digest) + " -->\n"

	var title strings.Builder
	title.WriteString("### lumuctl plan")
	if p.Mode == plan.ModeDestroy {
		title.WriteString(" (destroy)")
	}
	title.WriteString("\n\n")
	var meta []string
	if p.Namespace != "" {
		meta = append(meta, "namespace "+mdInlineCode(p.Namespace))
	}
	if p.Digest != "" {
		meta = append(meta, "plan digest "+mdInlineCode(p.Digest))
	}
	if !p.CreatedAt.IsZero() {
		meta = append(meta, "created "+p.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if len(meta) > 0 {
		title.WriteString(strings.Join(meta, " · ") + "\n\n")
	}
	if len(p.Targets) > 0 {
		var ts []string
		for _, t := range p.Targets {
			ts = append(ts, mdInlineCode("blocklist."+t))
		}
		title.WriteString("> **Warning:** only the targeted blocklists are planned: " + strings.Join(ts, ", ") + ".\n\n")
	}

	// The summary lines are exactly the human rendering's, unformatted:
	// reviewers and tools look for the line "Plan: X to add, ...".
	var footer string
	if p.HasChanges() {
		footer = PlanSummaryLine(p.Summary) + "\n" + hashSummary(p.Summary) + "\n"
	} else {
		footer = NoChangesLine + "\n"
	}

	// Budget: everything must fit in limit-1 bytes. The marker and footer
	// are fixed; each section below takes what it needs from what is left,
	// most important first, and the document is assembled in reading order.
	budget := limit - 1 - len(marker) - len(footer)
	take := func(s string) string {
		if len(s) > budget {
			s = mdCutText(s, budget)
		}
		budget -= len(s)
		return s
	}
	head := take(title.String())
	var refused string
	if len(opts.Refused) > 0 {
		var rb strings.Builder
		rb.WriteString("> **Apply will be refused: a safety guard tripped.** Nothing can be applied from this plan.\n>\n")
		for _, why := range opts.Refused {
			rb.WriteString("> - " + mdText(mdOneLine(why, 600)) + "\n")
		}
		rb.WriteString("\n")
		refused = take(rb.String())
	}
	// The diffs always get at least room for their omission note.
	diffReserve := 0
	if p.HasChanges() {
		diffReserve = len(r.omission(r.totalDiffLines())) + 1
		budget -= diffReserve
	}
	var table, drift, destroys, warnings, diffs string
	if p.HasChanges() {
		table = r.section(&budget, mdTableHead, r.tableLines(), "| … %d more %s | | | | |", "blocklist", "blocklists")
		destroys = r.section(&budget, "#### Items to destroy\n\n", r.destroyLines(), "- … %d more %s omitted; "+r.fullList(), "item", "items")
		drift = r.section(&budget, "#### Changes made outside lumuctl\n\nThis plan restores these items.\n\n", r.driftLines(), "- … %d more %s omitted; "+r.fullList(), "item", "items")
	}
	warnings = r.section(&budget, "#### Warnings\n\n", r.warningLines(), "- … %d more %s omitted; "+r.fullList(), "warning", "warnings")
	if p.HasChanges() {
		budget += diffReserve
		diffs = r.diffs(&budget)
	}
	var b strings.Builder
	b.WriteString(marker)
	b.WriteString(head)
	b.WriteString(refused)
	for _, s := range []string{table, drift, destroys, diffs, warnings} {
		b.WriteString(s)
	}
	b.WriteString(footer)
	out := b.String()
	if len(out) >= limit { // only when the marker and footer alone do not fit
		out = mdCutText(out, limit-1)
	}
	return out
}

type mdRenderer struct {
	p    *plan.Plan
	opts MarkdownOptions
}

// fullList says where the complete list is.
func (r *mdRenderer) fullList() string {
	if r.opts.PlanFile != "" {
		return "the full list is in the plan file (" + mdInlineCode("lumuctl show "+r.opts.PlanFile) + ")."
	}
	return "the full list is in " + mdInlineCode("lumuctl plan --json") + "."
}

// section renders heading, as many of lines as fit in *budget, an omission
// line (fmt with the count and the singular/plural noun) for the rest, and
// a blank line, and takes its length from *budget. No lines: "".
func (r *mdRenderer) section(budget *int, heading string, lines []string, omitted, one, many string) string {
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(heading)
	avail := *budget - len(heading) - 1 // trailing blank line
	for i, l := range lines {
		rest := len(lines) - i
		need := len(l) + 1
		if rest > 1 {
			// Keep room for an omission line for the lines after this one.
			need += len(fmt.Sprintf(omitted, rest-1, many)) + 1
		}
		if b.Len()-len(heading)+need > avail {
			note := fmt.Sprintf(omitted, rest, plural(rest, one, many)) + "\n"
			if b.Len()-len(heading)+len(note) <= avail {
				b.WriteString(note)
			}
			break
		}
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	s := b.String()
	if len(s) > *budget {
		s = mdCutText(s, *budget)
	}
	*budget -= len(s)
	return s
}

// mdTableHead is the header of the summary table.
const mdTableHead = "| Blocklist | Kibana | Items + / ~ / − | Hashes + / − | Blocked after |\n|---|---|---|---|---|\n"

func (r *mdRenderer) tableLines() []string {
	var out []string
	for _, bp := range r.p.Blocklists {
		var add, chg, del int
		for _, c := range bp.Changes {
			switch c.Action {
			case provider.Create:
				add++
			case provider.Update:
				chg++
			case provider.Delete:
				del++
			}
		}
		name := mdInlineCode(bp.Name)
		if bp.Orphan {
			name += " (no longer configured)"
		}
		out = append(out, fmt.Sprintf("| %s | %s | %d / %d / %d | +%d / −%d | %d |",
			mdTableCell(name), mdTableCell(mdInlineCode(bp.Kibana)), add, chg, del, bp.HashesAdded, bp.HashesRemoved, bp.HashesAfter))
	}
	return out
}

func (r *mdRenderer) destroyLines() []string {
	var out []string
	for _, bp := range r.p.Blocklists {
		for _, c := range bp.Changes {
			if c.Action != provider.Delete {
				continue
			}
			out = append(out, fmt.Sprintf("- %s — blocklist %s, %s, %d %s no longer blocked",
				mdInlineCode(c.ItemID), mdInlineCode(bp.Name), mdText(mdOSType(c)), len(c.Removed), plural(len(c.Removed), "hash", "hashes")))
		}
	}
	return out
}

func mdOSType(c plan.ItemChange) string {
	if c.OS == "" && c.HashType == "" {
		return "outside lumuctl's layout"
	}
	return c.OS + " " + string(c.HashType)
}

func (r *mdRenderer) driftLines() []string {
	var out []string
	for _, bp := range r.p.Blocklists {
		for _, d := range bp.Drift {
			what := make([]string, len(d.What))
			for i, w := range d.What {
				what[i] = mdText(w)
			}
			line := fmt.Sprintf("- %s (blocklist %s): %s", mdInlineCode(d.ItemID), mdInlineCode(bp.Name), strings.Join(what, ", "))
			if len(d.Added) > 0 || len(d.Removed) > 0 {
				line += fmt.Sprintf("; %d %s added and %d removed outside lumuctl", len(d.Added), plural(len(d.Added), "value", "values"), len(d.Removed))
			}
			out = append(out, line)
		}
	}
	return out
}

func (r *mdRenderer) warningLines() []string {
	var out []string
	for i, n := range r.p.Warnings {
		if i == mdMaxWarnings {
			rest := len(r.p.Warnings) - i
			out = append(out, fmt.Sprintf("- … %d more %s; %s", rest, plural(rest, "warning", "warnings"), r.fullList()))
			break
		}
		line := "- **" + mdText(mdOneLine(n.Summary, 200)) + "**"
		if d := mdOneLine(n.Detail, 300); d != "" {
			line += ": " + mdText(d)
		}
		out = append(out, line)
	}
	return out
}

// diffs renders one ```diff block per blocklist with changes, in the
// remaining budget. Every block keeps its heading and fences; lines are
// taken in order until the budget runs out, then each block notes how many
// of its lines were left out.
func (r *mdRenderer) diffs(budget *int) string {
	type block struct {
		heading string
		bp      plan.BlocklistPlan
		total   int // lines in the full block
	}
	var blocks []block
	for _, bp := range r.p.Blocklists {
		if len(bp.Changes) == 0 {
			continue
		}
		n := 0
		for _, c := range bp.Changes {
			n += 1 + len(c.Reasons) + len(c.Added) + len(c.Removed)
		}
		h := fmt.Sprintf("#### blocklist %s (kibana %s)\n\n", mdInlineCode(bp.Name), mdInlineCode(bp.Kibana))
		blocks = append(blocks, block{heading: h, bp: bp, total: n})
	}
	const fenceOpen, fenceClose = "```diff\n", "```\n\n"
	overhead := func(bl block) int {
		return len(bl.heading) + len(fenceOpen) + len(fenceClose) + len(r.omission(bl.total)) + 1
	}
	var out strings.Builder
	for i, bl := range blocks {
		// Keep room for the fixed parts of the blocks after this one.
		reserve := 0
		for _, later := range blocks[i+1:] {
			reserve += overhead(later)
		}
		avail := *budget - out.Len() - reserve
		if avail < overhead(bl) {
			// Not even the empty blocks fit: count what is left out.
			lines := 0
			for _, later := range blocks[i:] {
				lines += later.total
			}
			if note := r.omission(lines) + "\n"; out.Len()+len(note) <= *budget {
				out.WriteString(note)
			}
			break
		}
		out.WriteString(bl.heading)
		out.WriteString(fenceOpen)
		room := avail - overhead(bl)
		written := 0
		r.diffLines(bl.bp, func(line string) bool {
			if len(line)+1 > room {
				return false
			}
			room -= len(line) + 1
			out.WriteString(line)
			out.WriteByte('\n')
			written++
			return true
		})
		out.WriteString(fenceClose)
		if rest := bl.total - written; rest > 0 {
			out.WriteString(r.omission(rest) + "\n")
		}
	}
	s := out.String()
	*budget -= len(s)
	return s
}

// totalDiffLines is the number of lines of all diff blocks, uncut.
func (r *mdRenderer) totalDiffLines() int {
	n := 0
	for _, bp := range r.p.Blocklists {
		for _, c := range bp.Changes {
			n += 1 + len(c.Reasons) + len(c.Added) + len(c.Removed)
		}
	}
	return n
}

// omission is the note under a cut diff block.
func (r *mdRenderer) omission(n int) string {
	return fmt.Sprintf("… %d more %s omitted; %s\n", n, plural(n, "line", "lines"), r.fullList())
}

// diffLines calls emit for each line of a blocklist's diff block until it
// returns false.
func (r *mdRenderer) diffLines(bp plan.BlocklistPlan, emit func(string) bool) {
	for _, c := range bp.Changes {
		var what string
		switch c.Action {
		case provider.Create:
			what = fmt.Sprintf("create (+%d)", len(c.Added))
		case provider.Delete:
			what = fmt.Sprintf("destroy (-%d)", len(c.Removed))
		default:
			what = fmt.Sprintf("update in place (+%d -%d)", len(c.Added), len(c.Removed))
		}
		if !emit(fmt.Sprintf("@@ %s %s %s: %s @@", c.Action.Symbol(), mdCodeSafe(c.ItemID), mdCodeSafe(mdOSType(c)), what)) {
			return
		}
		for _, reason := range c.Reasons {
			if !emit("  (" + mdCodeSafe(mdOneLine(reason, 200)) + ")") {
				return
			}
		}
		for _, h := range c.Added {
			if !emit(mdHashLine("+", h, bp.Provenance.Lookup(h), "")) {
				return
			}
		}
		for _, h := range c.Removed {
			if !emit(mdHashLine("-", h, bp.PriorProvenance.Lookup(h), "was ")) {
				return
			}
		}
	}
}

// mdHashLine is "+ <hash>  incident 7c40be00 (Malware, QakBot) +2 more
// incidents" with the full hash; text from Lumu is made safe for a code
// block.
func mdHashLine(sign, hash string, refs []provider.IncidentRef, prefix string) string {
	line := sign + " " + mdCodeSafe(hash)
	ref, more, ok := TopIncident(refs)
	if !ok {
		return line
	}
	id := shortID(ref.ID)
	var detail []string
	if len(ref.AdversaryTypes) > 0 {
		detail = append(detail, strings.Join(ref.AdversaryTypes, ", "))
	}
	if d := strings.TrimSpace(ref.Description); d != "" {
		detail = append(detail, mdOneLine(d, mdDescriptionRunes))
	} else if ref.AdversaryID != "" {
		detail = append(detail, mdOneLine(ref.AdversaryID, mdDescriptionRunes))
	}
	line += "  " + prefix + "incident " + id
	if len(detail) > 0 {
		line += " (" + strings.Join(detail, ", ") + ")"
	}
	if more > 0 {
		line += fmt.Sprintf(" +%d more %s", more, plural(more, "incident", "incidents"))
	}
	return mdCodeSafe(line)
}

// mdOneLine replaces control characters (newlines included) by spaces,
// trims, and cuts s to max runes with "…".
func mdOneLine(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		b.WriteRune(r)
	}
	out := strings.TrimSpace(b.String())
	if rs := []rune(out); len(rs) > max {
		out = string(rs[:max-1]) + "…"
	}
	return out
}

// mdCodeSafe makes s safe inside a fenced code block and in the hidden
// marker: one line, no backticks (a line of them would close the fence),
// no angle brackets (no fake `<!-- lumuctl-plan: -->` marker, no HTML when
// a reader pastes it elsewhere).
func mdCodeSafe(s string) string {
	s = mdOneLine(s, 1<<20)
	return strings.NewReplacer("`", "'", "<", "‹", ">", "›").Replace(s)
}

// mdText escapes s for markdown running text: HTML and markdown syntax
// become literal characters.
func mdText(s string) string {
	s = mdOneLine(s, 1<<20)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\\', '`', '*', '_', '[', ']', '!', '|', '~', '@':
			// Backslash escapes keep links, images, emphasis, code
			// spans, table cells and @mentions from forming.
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdInlineCode renders s as an inline code span; s is made one line and
// its backticks and angle brackets replaced (see mdCodeSafe).
func mdInlineCode(s string) string {
	s = mdCodeSafe(s)
	if s == "" {
		return "``"
	}
	return "`" + s + "`"
}

// mdTableCell escapes pipes, which end a table cell even in code spans.
func mdTableCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// mdCutText cuts s to at most n bytes on a rune boundary, ending with a
// note when there is room.
func mdCutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const note = "\n… (cut: over the size limit)\n"
	keep := n
	if n > len(note) {
		keep = n - len(note)
	} else {
		return mdRuneCut(s, n)
	}
	return mdRuneCut(s, keep) + note
}

func mdRuneCut(s string, n int) string {
	for n > 0 && n < len(s) && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
