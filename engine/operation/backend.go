package operation

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/pgstore"
)

// OpenStore is the one place that chooses the state backend (SPEC 10):
// settings.backend "postgres" or, without a backend block, the local bbolt
// file at state_path. It does no I/O. Every command reaches the state
// through the engine's state.Store interfaces only.
func OpenStore(cfg *config.Config) (state.Store, error) {
	b := cfg.Settings.Backend
	if b == nil {
		return boltstore.New(cfg.StateFile(), boltstore.Options{}), nil
	}
	switch b.Type {
	case "postgres":
		if !b.URL.Known() {
			return nil, fmt.Errorf("the url of the backend %q comes from a variable that has no value here: set it with %sNAME or in a *.auto.lumuvars file (the variable named in settings.backend.url)", b.Type, config.EnvVarPrefix)
		}
		s, err := pgstore.New(pgstore.Options{URL: b.URL.Reveal(), Schema: b.Schema, Namespace: cfg.Settings.Namespace})
		if err != nil {
			return nil, fmt.Errorf("backend %q: %w", b.Type, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unsupported backend %q", b.Type)
}

// CloseStore releases a store's connections (the PostgreSQL readers'
// session); a bbolt store holds nothing open.
func CloseStore(s state.Store) {
	if c, ok := s.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// SourceCache is the Lumu cache that lives with the state backend (nil for
// the local files: the source then opens cache_path itself).
func SourceCache(s state.Store) provider.Cache {
	if ps, ok := s.(*pgstore.Store); ok {
		return ps.Cache()
	}
	return nil
}

// source builds the Lumu source with the cache of the configuration.
func (op *Operation) source(cfg *config.Config, store state.Store) (provider.Source, hcl.Diagnostics) {
	if c := SourceCache(store); c != nil {
		return op.Factories.Source(provider.SourceOptions{Cache: c, HTTPLog: op.HTTPLog, Refresh: op.Refresh})
	}
	cache := cfg.CacheFile()
	if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot create the cache directory", Detail: err.Error()}}
	}
	return op.Factories.Source(provider.SourceOptions{CachePath: cache, HTTPLog: op.HTTPLog, Refresh: op.Refresh})
}

// targets builds one Target per kibana block.
func (op *Operation) targets(cfg *config.Config, readOnly bool) (map[string]provider.Target, hcl.Diagnostics) {
	out := map[string]provider.Target{}
	var diags hcl.Diagnostics
	for _, name := range cfg.KibanaNames() {
		k := cfg.Kibanas[name]
		tc := cfg.ProviderTarget(k, readOnly)
		tc.HTTPLog = op.HTTPLog
		t, err := op.Factories.Target(tc)
		if err != nil {
			rng := k.DeclRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot set up the Kibana client",
				Detail: fmt.Sprintf("kibana %q: %s", name, err), Subject: &rng})
			continue
		}
		out[name] = t
	}
	return out, diags
}

// closeIdle closes the idle keep-alive connections of targets that can, so
// a loop that builds new clients every cycle does not keep the old ones'.
func closeIdle(targets map[string]provider.Target) {
	for _, t := range targets {
		if c, ok := t.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// prior turns a state snapshot into the planner's view of it, reading
// provenance from store. The planner cannot report an error from a
// provenance read, so the first one is kept in *readErr: the caller must
// refuse the plan when it is set (the hashes of unread incidents are kept
// by what the state records; a failed read would unblock them).
func prior(store state.Reader, st *state.State, readErr *error) plan.Prior {
	var mu sync.Mutex
	failed := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if *readErr == nil {
			*readErr = err
		}
	}
	items := make(map[string]provider.Item, len(st.Items))
	for id, it := range st.Items {
		items[id] = it.Item
	}
	return plan.Prior{
		Lineage: st.Lineage,
		Serial:  st.Serial,
		Items:   items,
		Incidents: func(blocklist, hash string) []provider.IncidentRef {
			if _, err := state.HashBytes(hash); err != nil {
				return nil // a value typed by hand: never recorded
			}
			refs, err := store.Provenance(blocklist, hash)
			if err != nil {
				failed(err)
				return nil
			}
			return refs
		},
		IncidentsOf: func(blocklist string, hashes []string) map[string][]provider.IncidentRef {
			// Values removed from Kibana need not be hashes (typed by
			// hand): they have no provenance, and the store refuses the
			// whole read for one of them.
			valid := make([]string, 0, len(hashes))
			for _, h := range hashes {
				if _, err := state.HashBytes(h); err == nil {
					valid = append(valid, h)
				}
			}
			p, err := store.ProvenanceOf(blocklist, valid)
			if err != nil {
				failed(err)
				return nil
			}
			return p
		},
	}
}
