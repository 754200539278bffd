package cli

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/metrics"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/providers/kibana"
	"github.com/lumuctl/lumuctl/providers/lumu"
)

// This file wires the metrics of SPEC section 9 into plan, apply and
// destroy: g.metrics is nil unless --metrics-file (one run) or apply --every
// (the loop) asked for them, and every hook below is then a no-op.

// defaultFactories are the real providers; cmd/lumuctl is the only place
// that knows them. When g.metrics is set at the time a provider is built,
// its HTTP requests are counted.
func defaultFactories(g *globals) provider.Factories {
	return provider.Factories{
		Source: func(o provider.SourceOptions) (provider.Source, hcl.Diagnostics) {
			if m := g.metrics; m != nil {
				// The client lumu.Factory would build, with a counting
				// transport; one for the process, so the loop's cycles
				// share its connections.
				if g.lumuHTTP == nil || g.lumuHTTPFor != m {
					g.lumuHTTP = &http.Client{Timeout: 60 * time.Second, Transport: m.LumuTransport(nil)}
					g.lumuHTTPFor = m
				}
				return lumu.NewSource(o, lumu.WithHTTPClient(g.lumuHTTP))
			}
			return lumu.Factory(o)
		},
		Target: func(cfg provider.TargetConfig) (provider.Target, error) {
			m := g.metrics
			if m == nil {
				return kibana.Factory(cfg)
			}
			c, err := kibana.New(cfg, kibana.WithTransportWrapper(func(next http.RoundTripper) http.RoundTripper {
				return m.KibanaTransport(cfg.Name, next)
			}))
			if err != nil {
				return nil, err // not a typed nil
			}
			return c, nil
		},
	}
}

// recordRun runs one plan, apply or destroy and, with --metrics-file, writes
// its metrics afterwards (also when the run failed: that is when they
// matter most).
func (g *globals) recordRun(command, path string, run func() error) error {
	if path == "" {
		return run()
	}
	if err := checkMetricsPath(path); err != nil {
		return err
	}
	g.metrics = metrics.New(false)
	defer func() { g.metrics = nil }()
	start := g.now()
	err := run()
	g.metrics.Run(command, start, g.now(), exitCodeOf(err))
	if werr := g.metrics.WriteFile(path); werr != nil {
		werr = fmt.Errorf("--metrics-file %s: %w", path, werr)
		if err == nil {
			return werr
		}
		g.logger.Error(werr.Error())
	}
	return err
}

// checkMetricsPath refuses a --metrics-file that could never be written,
// before the run starts.
func checkMetricsPath(path string) error {
	if path == "" {
		return errors.New("--metrics-file needs a file name")
	}
	return nil
}

// observeConfig names the configuration's companies, kibanas and
// blocklists to the metrics, so their counters start at 0.
func (g *globals) observeConfig(ws *workspace) {
	m := g.metrics
	if m == nil || ws == nil || ws.cfg == nil {
		return
	}
	keys := map[string]string{}
	for name, c := range ws.cfg.Companies {
		keys[c.ProviderCompany().Key] = name
	}
	m.Configure(keys, ws.cfg.KibanaNames(), ws.cfg.BlocklistNames())
}

// observeUnread sets lumuctl_lumu_unread_incidents from one plan's fetches:
// incidents whose context the daily quota (or a long 429) left unread.
func (g *globals) observeUnread(unread map[string]int) {
	if m := g.metrics; m != nil {
		for company, n := range unread {
			m.SetUnread(company, n)
		}
	}
}

// observeResult records what an operation found: the unread incidents of
// its fetches, and the drift and tripped guards of its plan.
func (g *globals) observeResult(r *operation.Result) {
	if r == nil {
		return
	}
	if r.Unread != nil {
		g.observeUnread(r.Unread)
	}
	if r.Plan != nil || r.Diags.HasErrors() {
		g.observePlan(r.Plan, r.Diags)
	}
}

// observePlan records what a plan found: drift and tripped guards.
func (g *globals) observePlan(p *plan.Plan, diags hcl.Diagnostics) {
	m := g.metrics
	if m == nil {
		return
	}
	for _, d := range diags {
		if t, ok := d.Extra.(plan.GuardTrip); ok && d.Severity == hcl.DiagError {
			m.GuardTrip(t.Blocklist, t.Guard)
		}
	}
	if p == nil {
		return
	}
	drift := map[string]int{}
	for _, bp := range p.Blocklists {
		drift[bp.Name] = len(bp.Drift)
	}
	m.SetDrift(drift)
}

// observeWrite counts one successful item write.
func (g *globals) observeWrite(blocklist string, a provider.Action) {
	if m := g.metrics; m != nil {
		m.ItemWrite(blocklist, a.String())
	}
}

// observeBlocked sets lumuctl_hashes_blocked from the state as the run
// leaves it.
func (g *globals) observeBlocked(ws *workspace) {
	m := g.metrics
	if m == nil || ws == nil || ws.store == nil {
		return
	}
	st, err := ws.store.Snapshot()
	if err != nil {
		g.logger.Warn("metrics: cannot read the state for lumuctl_hashes_blocked", "error", err.Error())
		return
	}
	counts := map[metrics.BlockedKey]int{}
	for _, it := range st.Items {
		k := metrics.BlockedKey{Blocklist: it.Blocklist, OS: it.OS}
		for _, e := range it.Item.Entries {
			counts[k] += len(e.Value)
		}
	}
	m.SetBlocked(counts)
}
