package plan

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// Options are the inputs of Make. The planner reads them and nothing else.
type Options struct {
	Config *config.Config
	Prior  Prior
	// Source fetches the hashes of each ioc_filter.
	Source provider.Source
	// Kibanas maps each kibana block name to a (read-only) Target.
	Kibanas map[string]provider.Target
	Now     time.Time
	Mode    Mode
	// Targets restricts the plan to these blocklist names (--target).
	Targets         []string
	AllowMassDelete bool
	ToolVersion     string
	// Progress receives the Source's progress events; may be nil.
	Progress provider.ProgressFunc
	// Parallelism bounds concurrent source fetches (default 4).
	Parallelism int
	// Fetched, when set, receives each ioc_filter's fetch statistics once
	// the fetches are done (for metrics), in filter-name order.
	Fetched func(filter *config.IOCFilter, stats provider.FetchStats)
	// SourcesDone, when set, is called once every fetch has returned, before
	// the planning: Make calls Source no more, so the caller may release
	// what it holds (the Lumu cache, whose mapped file pages would
	// otherwise stay resident while the plan is built).
	SourcesDone func()
}

// Prior is what the planner needs from the state file.
type Prior struct {
	Lineage string
	Serial  uint64
	// Items are the owned items as last applied, by item_id (read only).
	Items map[string]provider.Item
	// Incidents returns the incidents the state recorded for a hash of a
	// blocklist at the last apply (used to explain removals and to keep
	// the hashes of unread incidents); may be nil.
	Incidents func(blocklist, hash string) []provider.IncidentRef
	// IncidentsOf, when set, returns what Incidents returns for many
	// hashes of a blocklist at once (hashes without incidents absent):
	// the planner then reads the state once per blocklist, not per hash.
	IncidentsOf func(blocklist string, hashes []string) map[string][]provider.IncidentRef
}

// incidentsOf returns the recorded incidents of hashes of blocklist
// (absent: none), through IncidentsOf when set.
func (p Prior) incidentsOf(blocklist string, hashes []string) map[string][]provider.IncidentRef {
	if len(hashes) == 0 {
		return nil
	}
	if p.IncidentsOf != nil {
		return p.IncidentsOf(blocklist, hashes)
	}
	out := map[string][]provider.IncidentRef{}
	if p.Incidents == nil {
		return out
	}
	for _, h := range hashes {
		if refs := p.Incidents(blocklist, h); len(refs) > 0 {
			out[h] = refs
		}
	}
	return out
}

// GuardTrip marks a diagnostic (in hcl.Diagnostic.Extra) that reports a
// tripped safety guard: the CLI exits 6 for those. Blocklist names the
// blocklist whose plan tripped it.
type GuardTrip struct{ Guard, Blocklist string }

// IsGuardTrip reports whether diags contain a tripped guard.
func IsGuardTrip(diags hcl.Diagnostics) bool {
	for _, d := range diags {
		if _, ok := d.Extra.(GuardTrip); ok && d.Severity == hcl.DiagError {
			return true
		}
	}
	return false
}

// fetched is the result of one ioc_filter fetch.
type fetched struct {
	filter *config.IOCFilter
	resp   provider.FetchResponse
}

// Make builds the plan: it fetches every source the selected blocklists use,
// reads the owned items of every Kibana involved, packs the desired hashes
// onto items, checks the guards and seals the plan. It never writes.
//
// On errors the returned plan is nil. When only guards trip, the plan is
// returned with the diagnostics so views can show what would have happened.
func Make(ctx context.Context, opts Options) (*Plan, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	cfg := opts.Config
	if opts.Mode == "" {
		opts.Mode = ModeNormal
	}
	selected, orphanTargets := selectBlocklists(cfg, opts.Targets)

	p := &Plan{
		FormatVersion:   FormatVersion,
		ToolVersion:     opts.ToolVersion,
		CreatedAt:       opts.Now.UTC(),
		Mode:            opts.Mode,
		Targets:         append([]string(nil), opts.Targets...),
		AllowMassDelete: opts.AllowMassDelete,
		Namespace:       cfg.Settings.Namespace,
		Bindings: Bindings{
			ConfigDigest: cfg.Digest(),
			StateLineage: opts.Prior.Lineage,
			StateSerial:  opts.Prior.Serial,
		},
	}
	sort.Strings(p.Targets)

	// 1. Sources (not needed to destroy) and 2. the live items of every
	// Kibana involved, read at the same time: neither needs the other, and
	// each mostly waits on its server (or, for a cached source, decodes
	// while Kibana's pages arrive). A failed source still plans nothing:
	// the Kibana read is then cancelled and its outcome dropped.
	kibanaNames := involvedKibanas(cfg, selected, opts.Targets)
	reads := make([]struct {
		lk *liveKibana
		d  hcl.Diagnostics
	}, len(kibanaNames))
	kctx, cancelKibana := context.WithCancel(ctx)
	defer cancelKibana()
	var kibanaRead sync.WaitGroup
	kibanaRead.Go(func() {
		for i, name := range kibanaNames {
			reads[i].lk, reads[i].d = readKibana(kctx, cfg, name, opts.Kibanas[name], opts.Prior.Items)
		}
	})
	results := map[string]*fetched{}
	if opts.Mode == ModeNormal {
		var fd hcl.Diagnostics
		results, fd = fetchSources(ctx, opts, selected)
		if opts.SourcesDone != nil {
			opts.SourcesDone()
		}
		diags = append(diags, fd...)
		if opts.Fetched != nil {
			for _, name := range slices.Sorted(maps.Keys(results)) {
				opts.Fetched(results[name].filter, results[name].resp.Stats)
			}
		}
		if diags.HasErrors() {
			cancelKibana()
			kibanaRead.Wait()
			return nil, diags
		}
	}
	kibanaRead.Wait()
	live := map[string]*liveKibana{}
	for i, name := range kibanaNames {
		lk, d := reads[i].lk, reads[i].d
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		shareValues(lk, opts.Prior.Items)
		live[name] = lk
		p.Kibanas = append(p.Kibanas, lk.plan)
	}
	if diags.HasErrors() {
		return nil, diags
	}

	// A --target must name a configured blocklist, or one whose owned items
	// Kibana or the state still hold (an orphan to destroy); anything else
	// is a typo that would otherwise plan nothing and say "No changes".
	if d := checkTargets(cfg, opts, orphanTargets, live); d.HasErrors() {
		return nil, append(diags, d...)
	}

	// 3. Policy ids must exist before anything is written.
	diags = append(diags, checkPolicies(ctx, cfg, selected, opts.Kibanas)...)
	if diags.HasErrors() {
		return nil, diags
	}

	// 4. Per blocklist: desired sets, packing, drift, guards.
	provs := map[string]*provenanceBuilder{}
	for _, bl := range selected {
		prov := newProvenanceBuilder()
		provs[bl.Name] = prov
		lk := live[bl.Kibana.Name]
		var desired map[provider.HashType][]string
		var empty []string
		if opts.Mode == ModeNormal {
			desired, empty = desiredSet(bl, results, prov)
			keepUnread(cfg.Settings.Namespace, bl, results, opts.Prior, desired, prov)
		}
		if d := checkPackable(cfg, bl.Name, desired); d != nil {
			return nil, append(diags, d)
		}
		in := planInput{
			ns:        cfg.Settings.Namespace,
			name:      bl.Name,
			kibana:    bl.Kibana.Name,
			policyIDs: policyList(bl),
			osTypes:   bl.OSTypes,
			max:       bl.MaxValuesPerItem,
			desired:   desired,
			rank:      lastSeen(bl, results),
			live:      lk.byBlocklist[bl.Name],
			prior:     opts.Prior.Items,
		}
		bp, err := planBlocklist(in)
		if err == nil {
			var notes []Note
			bp, notes, err = avoidTaken(ctx, opts.Kibanas[bl.Kibana.Name], in, bp)
			p.Warnings = append(p.Warnings, notes...)
		}
		for _, f := range bl.Sources {
			bp.Sources = append(bp.Sources, f.Name)
		}
		sort.Strings(bp.Sources)
		if err != nil {
			rng := bl.DeclRange
			return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot plan blocklist", Detail: fmt.Sprintf("blocklist %q: %s", bl.Name, err), Subject: &rng})
		}
		diags = append(diags, checkGuards(opts, bl, &bp, empty)...)
		p.Blocklists = append(p.Blocklists, bp)
	}
	// Orphans: owned items of blocklists that are no longer configured.
	for _, name := range kibanaNames {
		lk := live[name]
		for _, blName := range lk.orphanNames() {
			if len(opts.Targets) > 0 && !orphanTargets[blName] {
				continue
			}
			bp, err := planBlocklist(planInput{
				ns: cfg.Settings.Namespace, name: blName, kibana: name,
				live: lk.byBlocklist[blName], prior: opts.Prior.Items, orphan: true,
			})
			if err != nil {
				return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot plan blocklist", Detail: fmt.Sprintf("blocklist %q: %s", blName, err)})
			}
			diags = append(diags, checkOrphanGuard(opts, cfg, name, &bp)...)
			p.Blocklists = append(p.Blocklists, bp)
		}
	}
	// The 10,000 items of each Kibana's list are shared by everyone.
	diags = append(diags, checkListSize(cfg, live, p.Blocklists)...)
	// A container that is missing although the state records owned items
	// in it: the list was deleted, or url points at another Kibana.
	for _, name := range kibanaNames {
		diags = append(diags, checkContainerGone(opts, name, live[name])...)
	}
	// Kibana 9.1+ refuses writes to per-policy items owned by another space.
	if d := checkOwnerSpaces(cfg, p.Blocklists, live); d.HasErrors() {
		return nil, append(diags, d...)
	}
	p.Warnings = append(p.Warnings, collectWarnings(results)...)

	p.Summary = summarize(p)
	setProvenance(p, provs, opts.Prior)
	if err := Seal(p); err != nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot encode plan", Detail: err.Error()})
	}
	return p, diags
}

// selectBlocklists returns the configured blocklists selected by targets
// (all when empty), in name order, and the set of target names that are not
// configured (possible orphans).
func selectBlocklists(cfg *config.Config, targets []string) ([]*config.Blocklist, map[string]bool) {
	orphans := map[string]bool{}
	want := map[string]bool{}
	for _, t := range targets {
		want[t] = true
		if _, ok := cfg.Blocklists[t]; !ok {
			orphans[t] = true
		}
	}
	var out []*config.Blocklist
	for _, name := range slices.Sorted(maps.Keys(cfg.Blocklists)) {
		if len(want) == 0 || want[name] {
			out = append(out, cfg.Blocklists[name])
		}
	}
	return out, orphans
}

// CheckTargets reports every target that names no configured blocklist
// and no blocklist with owned items in the state (prior) or, read only when
// the state does not know it, in one of kibanas: the check Make makes after
// its reads, made early so that apply refuses an unknown --target before it
// takes the lock.
func CheckTargets(ctx context.Context, cfg *config.Config, targets []string, prior Prior, kibanas map[string]provider.Target) hcl.Diagnostics {
	_, unconfigured := selectBlocklists(cfg, targets)
	opts := Options{Prior: prior}
	if !checkTargets(cfg, opts, unconfigured, nil).HasErrors() {
		return nil
	}
	live := map[string]*liveKibana{}
	for _, name := range cfg.KibanaNames() {
		lk, d := readKibana(ctx, cfg, name, kibanas[name], nil)
		if d.HasErrors() {
			return d
		}
		live[name] = lk
	}
	return checkTargets(cfg, opts, unconfigured, live)
}

// checkTargets reports every target in unconfigured (see selectBlocklists)
// that neither a live Kibana nor the state knows as a blocklist with owned
// items, with the closest known name as a suggestion.
func checkTargets(cfg *config.Config, opts Options, unconfigured map[string]bool, live map[string]*liveKibana) hcl.Diagnostics {
	if len(unconfigured) == 0 {
		return nil
	}
	known := map[string]bool{}
	for name := range cfg.Blocklists {
		known[name] = true
	}
	for _, lk := range live {
		for name, items := range lk.byBlocklist {
			if len(items) > 0 {
				known[name] = true
			}
		}
	}
	for id := range opts.Prior.Items {
		if bl, _, _, _, _, ok := splitOwnedID(cfg.Settings.Namespace, id); ok {
			known[bl] = true
		}
	}
	names := slices.Sorted(maps.Keys(known))
	var diags hcl.Diagnostics
	for _, t := range slices.Sorted(maps.Keys(unconfigured)) {
		if known[t] {
			continue
		}
		detail := fmt.Sprintf("--target blocklist.%s names no configured blocklist, and no Kibana or state holds items lumuctl owns for it.", t)
		if s := config.Suggest(t, names); s != "" {
			detail += fmt.Sprintf(" Did you mean --target blocklist.%s?", s)
		}
		var configured []string
		for _, n := range slices.Sorted(maps.Keys(cfg.Blocklists)) {
			configured = append(configured, "blocklist."+n)
		}
		if len(configured) > 0 {
			detail += " Configured: " + strings.Join(configured, ", ") + "."
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown --target", Detail: detail})
	}
	return diags
}

// involvedKibanas lists the kibana names that hold selected blocklists, plus
// every configured kibana when orphans may be planned (no --target, or a
// target that names an unconfigured blocklist).
func involvedKibanas(cfg *config.Config, selected []*config.Blocklist, targets []string) []string {
	set := map[string]bool{}
	for _, bl := range selected {
		set[bl.Kibana.Name] = true
	}
	orphanPossible := len(targets) == 0
	for _, t := range targets {
		if _, ok := cfg.Blocklists[t]; !ok {
			orphanPossible = true
		}
	}
	if orphanPossible {
		for name := range cfg.Kibanas {
			set[name] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// fetchSources fetches every ioc_filter the selected blocklists use, each
// once, with bounded concurrency. Any failure is an error diagnostic on the
// filter block: a failed source never shrinks the desired set.
func fetchSources(ctx context.Context, opts Options, selected []*config.Blocklist) (map[string]*fetched, hcl.Diagnostics) {
	filters := map[string]*config.IOCFilter{}
	for _, bl := range selected {
		for _, f := range bl.Sources {
			filters[f.Name] = f
		}
	}
	par := opts.Parallelism
	if par <= 0 {
		par = 4
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		sem     = make(chan struct{}, par)
		results = map[string]*fetched{}
	)
	for _, name := range slices.Sorted(maps.Keys(filters)) {
		f := filters[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				results[f.Name] = &fetched{filter: f, resp: provider.FetchResponse{Err: ctx.Err()}}
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			resp := opts.Source.Fetch(ctx, provider.FetchRequest{
				Company:  f.Company.ProviderCompany(),
				Filter:   f.ProviderFilter(),
				Now:      opts.Now,
				Progress: opts.Progress,
			})
			enforceExclusions(f, &resp)
			mu.Lock()
			results[f.Name] = &fetched{filter: f, resp: resp}
			mu.Unlock()
		}()
	}
	wg.Wait()
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(results)) {
		r := results[name]
		if r.resp.Err != nil {
			rng := r.filter.DeclRange
			detail := r.resp.Err.Error()
			if !strings.Contains(detail, fmt.Sprintf("ioc_filter %q", r.filter.Name)) {
				detail = fmt.Sprintf("ioc_filter %q (company %q): %s", r.filter.Name, r.filter.Company.Name, detail)
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read incidents from Lumu",
				Detail:   detail + "\n\nNothing was changed: a source that cannot be read never removes hashes. Fix the problem and plan again.",
				Subject:  &rng,
			})
		}
	}
	return results, diags
}

// maxWarningDetails caps the details listed under one merged warning.
const maxWarningDetails = 10

// collectWarnings merges the sources' warnings: one Note per summary, its
// details one per line (the first maxWarningDetails, then a count).
func collectWarnings(results map[string]*fetched) []Note {
	// One entry per distinct (summary, detail): two ioc_filters that read
	// the same incident report its malformed hash once, naming both.
	type entry struct {
		detail  string
		filters []string
	}
	type group struct {
		entries   []*entry
		byDetail  map[string]*entry
		incidents map[string]bool
	}
	var order []string
	groups := map[string]*group{}
	for _, name := range slices.Sorted(maps.Keys(results)) {
		for _, w := range results[name].resp.Warnings {
			g := groups[w.Summary]
			if g == nil {
				g = &group{byDetail: map[string]*entry{}, incidents: map[string]bool{}}
				groups[w.Summary] = g
				order = append(order, w.Summary)
			}
			if w.Incident != "" {
				g.incidents[w.Incident] = true
			}
			if e := g.byDetail[w.Detail]; e != nil {
				if !slices.Contains(e.filters, name) {
					e.filters = append(e.filters, name)
				}
				continue
			}
			e := &entry{detail: w.Detail, filters: []string{name}}
			g.byDetail[w.Detail] = e
			g.entries = append(g.entries, e)
		}
	}
	out := make([]Note, 0, len(order))
	for _, summary := range order {
		g := groups[summary]
		n := Note{Summary: strings.ToValidUTF8(summary, "\uFFFD")}
		switch times, inc := len(g.entries), len(g.incidents); {
		case times > 1 && inc > 1:
			n.Summary = fmt.Sprintf("%s (%d times, in %d incidents)", n.Summary, times, inc)
		case times > 1:
			n.Summary = fmt.Sprintf("%s (%d times)", n.Summary, times)
		}
		var d []string
		for _, e := range g.entries {
			quoted := make([]string, len(e.filters))
			for i, f := range e.filters {
				quoted[i] = fmt.Sprintf("%q", f)
			}
			label := "ioc_filter " + quoted[0]
			if len(quoted) > 1 {
				label = "ioc_filters " + strings.Join(quoted, ", ")
			}
			d = append(d, strings.ToValidUTF8(label+": "+e.detail, "\uFFFD"))
		}
		if len(d) > maxWarningDetails {
			d = append(d[:maxWarningDetails:maxWarningDetails], fmt.Sprintf("... and %d more", len(d)-maxWarningDetails))
		}
		n.Detail = strings.Join(d, "\n")
		out = append(out, n)
	}
	return out
}

// desiredSet is the union of the blocklist's sources, by hash type: each
// hash once, in no particular order (the planner sorts each type's hashes
// once, in checkedDesired). It also records provenance and returns the
// names of sources that yielded nothing. A source's answer is already keyed
// by hash, so only a hash that an earlier source of the blocklist also
// yielded needs a lookup: no second set of every hash is built.
func desiredSet(bl *config.Blocklist, results map[string]*fetched, prov *provenanceBuilder) (map[provider.HashType][]string, []string) {
	out := map[provider.HashType][]string{}
	var empty []string
	var earlier []map[string]*provider.Indicator
	for _, f := range bl.Sources {
		r := results[f.Name]
		if r == nil {
			continue
		}
		if len(r.resp.Indicators) == 0 && r.resp.Stats.IncidentsUnread == 0 {
			// A source with unread incidents (daily quota) is not empty,
			// only not read whole yet.
			empty = append(empty, f.Name)
		}
		for h, ind := range r.resp.Indicators {
			if yielded(earlier, ind.Type, h) {
				continue
			}
			set := out[ind.Type]
			if set == nil && len(f.HashTypes) == 1 {
				// Room for the whole answer (the usual case: one type).
				set = make([]string, 0, len(r.resp.Indicators))
			}
			out[ind.Type] = append(set, h)
		}
		earlier = append(earlier, r.resp.Indicators)
		// The incidents of each hash are taken from the answer only for
		// the hashes the plan's provenance needs (see materialize).
		prov.addFetchedSet(r.resp.Indicators)
	}
	return out, empty
}

// yielded reports whether one of the sources' answers holds h as a hash of
// type t.
func yielded(answers []map[string]*provider.Indicator, t provider.HashType, h string) bool {
	for _, a := range answers {
		if ind := a[h]; ind != nil && ind.Type == t {
			return true
		}
	}
	return false
}

// lastSeen returns the rank the packer orders a blocklist's new hashes by:
// the latest lastContact of the incidents that produced the hash, in Unix
// nanoseconds. Hashes leave mostly when their incidents age out of the days
// window, so hashes whose incidents were last seen together sit in the same
// items and leave them together (SPEC section 5, arrival order).
func lastSeen(bl *config.Blocklist, results map[string]*fetched) func(string) int64 {
	return func(h string) int64 {
		var last int64
		for _, f := range bl.Sources {
			r := results[f.Name]
			if r == nil {
				continue
			}
			if ind := r.resp.Indicators[h]; ind != nil {
				for _, ref := range ind.Incidents {
					last = max(last, ref.LastContact.UnixNano())
				}
			}
		}
		return last
	}
}

// keepUnread adds to desired the hashes the last apply blocked for bl on
// behalf of incidents its sources listed but could not read this run (Lumu
// daily quota, or a 429 past retry_timeout): such an incident is still
// there, and what it yielded before stays blocked until it is read again
// (SPEC section 3). Removals are still decided by the incident list.
func keepUnread(ns string, bl *config.Blocklist, results map[string]*fetched, prior Prior, desired map[provider.HashType][]string, prov *provenanceBuilder) {
	unread := map[string]bool{} // filter + "\x00" + incident id
	filters := map[string]*config.IOCFilter{}
	for _, f := range bl.Sources {
		filters[f.Name] = f
		if r := results[f.Name]; r != nil {
			for _, id := range r.resp.Unread {
				unread[f.Name+"\x00"+id] = true
			}
		}
	}
	if len(unread) == 0 || (prior.Incidents == nil && prior.IncidentsOf == nil) {
		return
	}
	var answers []map[string]*provider.Indicator // what desired holds
	for _, f := range bl.Sources {
		if r := results[f.Name]; r != nil {
			answers = append(answers, r.resp.Indicators)
		}
	}
	type cand struct {
		t provider.HashType
		h string
	}
	var cands []cand
	var hashes []string
	listed := map[string]bool{}
	prefix := pack.BlocklistPrefix(ns, bl.Name)
	for _, id := range slices.Sorted(maps.Keys(prior.Items)) {
		if !strings.HasPrefix(id, prefix) {
			continue
		}
		for _, e := range prior.Items[id].Entries {
			t := provider.HashType(strings.TrimPrefix(e.Field, "file.hash."))
			if t.HexLen() == 0 {
				continue
			}
			for _, v := range e.Value {
				h := provider.NormalizeHash(v)
				if !t.Valid(h) {
					continue
				}
				if listed[h] || yielded(answers, t, h) {
					continue
				}
				listed[h] = true
				cands = append(cands, cand{t, h})
				hashes = append(hashes, h)
			}
		}
	}
	recorded := prior.incidentsOf(bl.Name, hashes)
	for _, c := range cands {
		var keep []provider.IncidentRef
		for _, ref := range recorded[c.h] {
			if unread[ref.Filter+"\x00"+ref.ID] && !excluded(filters[ref.Filter], c.h) {
				keep = append(keep, ref)
			}
		}
		if len(keep) == 0 {
			continue
		}
		desired[c.t] = append(desired[c.t], c.h)
		prov.add(c.h, keep)
	}
}

// policyList returns the blocklist's policy ids (nil when global).
func policyList(bl *config.Blocklist) []string {
	if bl.Global {
		return nil
	}
	ids := append([]string(nil), bl.PolicyIDs...)
	sort.Strings(ids)
	return ids
}

func checkPolicies(ctx context.Context, cfg *config.Config, selected []*config.Blocklist, targets map[string]provider.Target) hcl.Diagnostics {
	var diags hcl.Diagnostics
	byKibana := map[string][]*config.Blocklist{}
	for _, bl := range selected {
		if !bl.Global && len(bl.PolicyIDs) > 0 {
			byKibana[bl.Kibana.Name] = append(byKibana[bl.Kibana.Name], bl)
		}
	}
	for _, kname := range slices.Sorted(maps.Keys(byKibana)) {
		var ids []string
		seen := map[string]bool{}
		for _, bl := range byKibana[kname] {
			for _, id := range bl.PolicyIDs {
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
		sort.Strings(ids)
		res, err := targets[kname].CheckPolicies(ctx, ids)
		k := cfg.Kibanas[kname]
		if err != nil {
			rng := k.DeclRange
			detail := err.Error()
			if !strings.Contains(detail, fmt.Sprintf("kibana %q", kname)) {
				detail = fmt.Sprintf("kibana %q: %s", kname, detail)
			}
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot check Fleet policies", Detail: detail, Subject: &rng})
			continue
		}
		if res.Warning != "" {
			rng := k.DeclRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Fleet policies not checked",
				Detail: fmt.Sprintf("kibana %q: %s", kname, res.Warning), Subject: &rng})
		}
		missing := map[string]bool{}
		for _, id := range res.Missing {
			missing[id] = true
		}
		for _, bl := range byKibana[kname] {
			for _, id := range bl.PolicyIDs {
				if missing[id] {
					rng := bl.DeclRange
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown Fleet policy",
						Detail:  fmt.Sprintf("blocklist %q refers to policy %q, which is not an Elastic Defend package policy in kibana %q. Check the id in Fleet → Agent policies → integration policies.", bl.Name, id, kname),
						Subject: &rng})
				}
			}
		}
	}
	return diags
}

// provenanceBuilder interns incident refs while building the plan.
type provenanceBuilder struct {
	index map[refID]int // ref as read → index (no allocation per lookup)
	// byAddr maps the address of a ref a source handed over to its index:
	// sources share one ref among the hashes of an incident, so most
	// lookups hash a pointer, not three strings.
	byAddr map[*provider.IncidentRef]int
	refs   []provider.IncidentRef
	hashes map[string][]int // hash → ref indexes, without duplicates (lists are short)
	// single[i] is the shared one-element set {i} (capacity 1: an append
	// copies it), so a hash with one incident costs no allocation.
	single [][]int
	// fetched are the sources' answers (desiredSet): their hashes' refs
	// are added only when materialized, so a plan without changes does not
	// build an entry for each of its hundreds of thousands of hashes.
	fetched []map[string]*provider.Indicator
}

func newProvenanceBuilder() *provenanceBuilder {
	return &provenanceBuilder{index: map[refID]int{}, byAddr: map[*provider.IncidentRef]int{}, hashes: map[string][]int{}}
}

// refID identifies an incident ref as a source reported it.
type refID struct{ company, filter, id string }

func refKey(r provider.IncidentRef) string {
	return r.Company + "\x00" + r.Filter + "\x00" + r.ID
}

// intern returns the index of *r, adding it when new. With byAddr, r is
// remembered by address too: only for refs that stay unchanged while the
// builder is in use (a FetchResponse's).
func (b *provenanceBuilder) intern(r *provider.IncidentRef, byAddr bool) int {
	if byAddr {
		if i, ok := b.byAddr[r]; ok {
			return i
		}
	}
	// Interned by the ref as read: each incident is validated and copied
	// once, not once per hash.
	k := refID{r.Company, r.Filter, r.ID}
	i, ok := b.index[k]
	if !ok {
		i = len(b.refs)
		b.index[k] = i
		b.refs = append(b.refs, validRef(*r))
		b.single = append(b.single, []int{i})
	}
	if byAddr {
		b.byAddr[r] = i
	}
	return i
}

// add records that refs produced h.
func (b *provenanceBuilder) add(h string, refs []provider.IncidentRef) { b.addRefs(h, refs, false) }

// addFetched is add for the refs of a FetchResponse, which nothing changes
// while the plan is made.
func (b *provenanceBuilder) addFetched(h string, refs []provider.IncidentRef) {
	b.addRefs(h, refs, true)
}

// addFetchedSet records that a source's answer produced its hashes; their
// refs are added by materialize or materializeAll.
func (b *provenanceBuilder) addFetchedSet(inds map[string]*provider.Indicator) {
	b.fetched = append(b.fetched, inds)
}

// materialize adds the fetched refs of h (adding twice changes nothing:
// addRefs keeps a set).
func (b *provenanceBuilder) materialize(h string) {
	for _, m := range b.fetched {
		if ind := m[h]; ind != nil {
			b.addFetched(h, ind.Incidents)
		}
	}
}

// materializeAll adds the fetched refs of every hash.
func (b *provenanceBuilder) materializeAll() {
	for _, m := range b.fetched {
		for h, ind := range m {
			b.addFetched(h, ind.Incidents)
		}
	}
}

func (b *provenanceBuilder) addRefs(h string, refs []provider.IncidentRef, byAddr bool) {
	set, seen := b.hashes[h]
	for k := range refs {
		i := b.intern(&refs[k], byAddr)
		switch {
		case len(set) == 0:
			set = b.single[i]
		case !slices.Contains(set, i):
			set = append(set, i)
		}
	}
	if !seen || len(refs) > 0 {
		b.hashes[h] = set
	}
}

// validRef makes the text fields of r valid UTF-8: the plan digest is
// computed over JSON, which would rewrite invalid bytes, and a plan must
// verify after a round trip through its file.
func validRef(r provider.IncidentRef) provider.IncidentRef {
	r.ID = strings.ToValidUTF8(r.ID, "\uFFFD")
	r.Company = strings.ToValidUTF8(r.Company, "\uFFFD")
	r.Filter = strings.ToValidUTF8(r.Filter, "\uFFFD")
	r.AdversaryID = strings.ToValidUTF8(r.AdversaryID, "\uFFFD")
	r.Description = strings.ToValidUTF8(r.Description, "\uFFFD")
	r.Status = strings.ToValidUTF8(r.Status, "\uFFFD")
	types := make([]string, len(r.AdversaryTypes))
	for i, t := range r.AdversaryTypes {
		types[i] = strings.ToValidUTF8(t, "\uFFFD")
	}
	r.AdversaryTypes = types
	return r
}

// build returns a deterministic Provenance of the hashes keep accepts (all
// when keep is nil): only the incidents they refer to, sorted by key; hash
// index lists sorted.
func (b *provenanceBuilder) build(keep func(h string, refs []int) bool) Provenance {
	hashes := make(map[string][]int, len(b.hashes))
	used := make([]bool, len(b.refs))
	for h, set := range b.hashes {
		if keep == nil || keep(h, set) {
			hashes[h] = set
			for _, i := range set {
				used[i] = true
			}
		}
	}
	var order []int
	for i, u := range used {
		if u {
			order = append(order, i)
		}
	}
	sort.Slice(order, func(i, j int) bool {
		return refKey(b.refs[order[i]]) < refKey(b.refs[order[j]])
	})
	remap := make([]int, len(b.refs))
	out := Provenance{Incidents: make([]provider.IncidentRef, len(order)), Hashes: make(map[string][]int, len(hashes))}
	for newIdx, old := range order {
		remap[old] = newIdx
		out.Incidents[newIdx] = b.refs[old]
	}
	for h, set := range hashes {
		idx := make([]int, 0, len(set))
		for _, i := range set {
			idx = append(idx, remap[i])
		}
		sort.Ints(idx)
		out.Hashes[h] = idx
	}
	return out
}

// setProvenance fills each blocklist's Provenance and PriorProvenance (see
// BlocklistPlan): provs holds the incidents of every desired hash per
// configured blocklist. Kept hashes are compared with the state only when
// the plan writes something (a plan without changes is never applied).
func setProvenance(p *Plan, provs map[string]*provenanceBuilder, prior Prior) {
	writes := p.HasChanges()
	for i := range p.Blocklists {
		bp := &p.Blocklists[i]
		added := map[string]bool{}
		removed := newProvenanceBuilder()
		seen := map[string]bool{}
		var gone []string
		for _, c := range bp.Changes {
			for _, h := range c.Added {
				added[h] = true
			}
			for _, h := range c.Removed {
				if !seen[h] {
					seen[h] = true
					gone = append(gone, h)
				}
			}
		}
		// Apply forgets the values drift removed (found removed outside
		// lumuctl), then records this provenance: a desired hash among them
		// (retyped in uppercase, moved to another owned item) is set again.
		redo := map[string]bool{}
		for _, d := range bp.Drift {
			for _, h := range d.Removed {
				redo[h] = true
			}
		}
		was := prior.incidentsOf(bp.Name, gone)
		for _, h := range gone {
			if refs := was[h]; len(refs) > 0 {
				removed.add(h, refs)
			}
		}
		bp.PriorProvenance = removed.build(nil)
		cur := provs[bp.Name]
		if cur == nil { // orphan, or destroy
			bp.Provenance = Provenance{Hashes: map[string][]int{}}
			continue
		}
		// Only a plan that writes compares the kept hashes: it needs every
		// hash's incidents; otherwise only the changed ones are built.
		if writes {
			cur.materializeAll()
		} else {
			for _, set := range []map[string]bool{added, seen, redo} {
				for h := range set {
					cur.materialize(h)
				}
			}
		}
		// The kept hashes are compared with the state in one read.
		var recorded map[string][]provider.IncidentRef
		if writes {
			var kept []string
			for h := range cur.hashes {
				if !added[h] && !seen[h] && !redo[h] {
					kept = append(kept, h)
				}
			}
			slices.Sort(kept)
			recorded = prior.incidentsOf(bp.Name, kept)
		}
		bp.Provenance = cur.build(func(h string, refs []int) bool {
			// A hash removed from one OS (os_types shrank) but kept on
			// another is forgotten by apply with the removals: set again.
			if added[h] || seen[h] || redo[h] {
				return true
			}
			if !writes {
				return false
			}
			return !sameIncidents(cur.refs, refs, recorded[h])
		})
	}
}

// sameIncidents reports whether the incidents refs (indexes into table)
// are, by company, filter and id, those of recorded.
func sameIncidents(table []provider.IncidentRef, refs []int, recorded []provider.IncidentRef) bool {
	if len(refs) != len(recorded) {
		return false
	}
	if len(refs) == 1 { // the usual hash: one incident, no map
		a, b := table[refs[0]], recorded[0]
		return a.Company == b.Company && a.Filter == b.Filter && a.ID == b.ID
	}
	want := make(map[refID]bool, len(recorded))
	for _, r := range recorded {
		want[refID{r.Company, r.Filter, r.ID}] = true
	}
	for _, i := range refs {
		r := table[i]
		if !want[refID{r.Company, r.Filter, r.ID}] {
			return false
		}
	}
	return true
}

func summarize(p *Plan) Summary {
	var s Summary
	for _, k := range p.Kibanas {
		if k.CreateContainer {
			s.Containers++
		}
	}
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			switch c.Action {
			case provider.Create:
				s.Add++
			case provider.Update:
				s.Change++
			case provider.Delete:
				s.Destroy++
			}
		}
		s.HashesAdded += bp.HashesAdded
		s.HashesRemoved += bp.HashesRemoved
		s.BlockedAfter += bp.HashesAfter
		s.Drifted += len(bp.Drift)
	}
	return s
}

// checkContainerGone reports, loudly, a Kibana whose endpoint_blocklists
// list is missing while the state records owned items of it (SPEC 5). A
// plan would then re-create every item; that is refused like a mass
// deletion unless --allow-mass-delete is given, and a warning otherwise.
func checkContainerGone(opts Options, kibana string, lk *liveKibana) hcl.Diagnostics {
	if lk == nil || !lk.plan.CreateContainer || opts.Mode == ModeDestroy {
		return nil
	}
	cfg := opts.Config
	ns := cfg.Settings.Namespace
	var recorded []string
	for itemID := range opts.Prior.Items {
		bl, _, _, _, _, ok := splitOwnedID(ns, itemID)
		if !ok {
			continue
		}
		b, configured := cfg.Blocklists[bl]
		switch {
		case configured && b.Kibana != nil && b.Kibana.Name == kibana:
		case !configured && len(cfg.Kibanas) == 1:
		default:
			continue
		}
		recorded = append(recorded, itemID)
	}
	if len(recorded) == 0 {
		return nil
	}
	sort.Strings(recorded)
	rng := cfg.Kibanas[kibana].DeclRange
	detail := fmt.Sprintf("kibana %q: the state records %d owned item(s) (e.g. %s), but Kibana answers that the endpoint_blocklists list does not exist. "+
		"Either the list was deleted in Kibana (with every item in it, so nothing lumuctl blocked is blocked any more), "+
		"or url now points at a different Kibana than the state was made with. ", kibana, len(recorded), recorded[0])
	if !opts.AllowMassDelete {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Blocklist container missing in Kibana",
			Detail:   detail + "Nothing was changed. Check url; if the list really is gone, run again with --allow-mass-delete to re-create it and every item.",
			Subject:  &rng,
			Extra:    GuardTrip{Guard: "mass_delete"},
		}}
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagWarning,
		Summary:  "Blocklist container missing in Kibana",
		Detail:   detail + "--allow-mass-delete is set: the plan re-creates the list and every item.",
		Subject:  &rng,
	}}
}

// ownerSpaceTag is provider.OwnerSpaceTag: ownerSpaceId:<space id>.
const ownerSpaceTag = provider.OwnerSpaceTag

// checkOwnerSpaces refuses, before any write, a plan that updates or
// deletes an owned item Kibana 9.1+ would refuse to change from this
// kibana's space (SPEC 5): a per-policy item whose ownerSpaceId tags do not
// name the space. Kibana's BaseValidator (validateCanUpdateItemInActiveSpace,
// validateCanDeleteItemInActiveSpace) allows such a write only to a user with
// the Global Artifact Management privilege, which lumuctl cannot see; global
// (policy:all) items need that privilege from any space, so their owner
// space never decides. Items without ownerSpaceId tags (Kibana before 9.1)
// are never refused.
func checkOwnerSpaces(cfg *config.Config, bps []BlocklistPlan, live map[string]*liveKibana) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, bp := range bps {
		lk := live[bp.Kibana]
		k := cfg.Kibanas[bp.Kibana]
		if lk == nil || k == nil {
			continue
		}
		space := k.Space
		if space == "" {
			space = config.DefaultKibanaSpace
		}
		byID := map[string]provider.Item{}
		for _, li := range lk.byBlocklist[bp.Name] {
			byID[li.item.ItemID] = li.item
		}
		for _, c := range bp.Changes {
			if c.Action != provider.Update && c.Action != provider.Delete {
				continue
			}
			cur, ok := byID[c.ItemID]
			if !ok || isGlobal(cur.Tags) || (c.After != nil && isGlobal(c.After.Tags)) {
				continue
			}
			owners := ownerSpaces(cur.Tags)
			if len(owners) == 0 || slices.Contains(owners, space) {
				continue
			}
			rng := k.DeclRange
			verb := "update"
			if c.Action == provider.Delete {
				verb = "delete"
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Item owned by another Kibana space",
				Detail: fmt.Sprintf("kibana %q: the plan would %s item %s, which Kibana says is owned by space %s, but this kibana block works in space %q. "+
					"Kibana 9.1+ lets a per-policy item be changed only from one of its owner spaces (or by a user with the Global Artifact Management privilege), so it would refuse the write. Nothing was changed. "+
					"Fix: plan from the owner space (space = %q in kibana %q), or have a user with Global Artifact Management delete the item or change its ownerSpaceId tag to %q.",
					bp.Kibana, verb, c.ItemID, strings.Join(quoteAll(owners), ", "), space, owners[0], bp.Kibana, ownerSpaceTag+space),
				Subject: &rng,
			})
		}
	}
	return diags
}

func isGlobal(tags []string) bool { return slices.Contains(tags, "policy:all") }

func ownerSpaces(tags []string) []string {
	var out []string
	for _, t := range tags {
		if s, ok := strings.CutPrefix(t, ownerSpaceTag); ok {
			out = append(out, s)
		}
	}
	return out
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
