package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/safefile"
	"github.com/lumuctl/lumuctl/engine/state"
)

// varArgs collects --var and --var-file in command-line order.
type varArgs struct{ list []config.VarArg }

type varFlag struct {
	args *varArgs
	file bool
}

func (v varFlag) String() string { return "" }
func (v varFlag) Type() string {
	if v.file {
		return "FILE"
	}
	return "NAME=VALUE"
}
func (v varFlag) Set(s string) error {
	if v.file {
		v.args.list = append(v.args.list, config.VarArg{File: s})
		return nil
	}
	if !strings.Contains(s, "=") {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	v.args.list = append(v.args.list, config.VarArg{Assign: s})
	return nil
}

func (v *varArgs) register(fs *pflag.FlagSet) {
	fs.Var(varFlag{args: v}, "var", "set a variable (repeatable; later wins)")
	fs.Var(varFlag{args: v, file: true}, "var-file", "read variables from an HCL file (repeatable)")
}

// workspace is the loaded configuration and the state store of one run.
type workspace struct {
	parser  *config.Parser
	cfg     *config.Config
	store   state.Store
	httpLog provider.HTTPLog // handed to every provider client
}

// loadWorkspace loads the configuration of the working directory with every
// variable resolved (not offline).
func (g *globals) loadWorkspace(vars []config.VarArg) (*workspace, hcl.Diagnostics) {
	p := config.NewParser()
	cfg, diags := p.LoadDir(".", config.LoadOptions{Vars: vars, Getenv: g.env})
	ws := &workspace{parser: p, cfg: cfg, httpLog: g.httpLog()}
	if cfg != nil && !diags.HasErrors() {
		store, err := g.openStore(cfg)
		if err != nil {
			rng := cfg.Settings.DeclRange
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot use the state backend", Detail: err.Error(), Subject: &rng})
			return ws, diags
		}
		ws.store = store
	}
	return ws, diags
}

// files are the configuration sources, for diagnostics with snippets.
func (w *workspace) files() map[string]*hcl.File { return w.parser.Files() }

// source builds the Lumu source with the cache of the configuration.
func (w *workspace) source(f provider.Factories, refresh bool) (provider.Source, hcl.Diagnostics) {
	if c := sourceCache(w.store); c != nil {
		return f.Source(provider.SourceOptions{Cache: c, HTTPLog: w.httpLog, Refresh: refresh})
	}
	cache := w.cfg.CacheFile()
	if err := os.MkdirAll(filepath.Dir(cache), 0o700); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot create the cache directory", Detail: err.Error()}}
	}
	return f.Source(provider.SourceOptions{CachePath: cache, HTTPLog: w.httpLog, Refresh: refresh})
}

// targets builds one Target per kibana block.
func (w *workspace) targets(f provider.Factories, readOnly bool) (map[string]provider.Target, hcl.Diagnostics) {
	out := map[string]provider.Target{}
	var diags hcl.Diagnostics
	for _, name := range w.cfg.KibanaNames() {
		k := w.cfg.Kibanas[name]
		tc := w.cfg.ProviderTarget(k, readOnly)
		tc.HTTPLog = w.httpLog
		t, err := f.Target(tc)
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

// prior turns a state snapshot into the planner's view of it.
func (w *workspace) prior(st *state.State) plan.Prior {
	items := make(map[string]provider.Item, len(st.Items))
	for id, it := range st.Items {
		items[id] = it.Item
	}
	store := w.store
	return plan.Prior{
		Lineage: st.Lineage,
		Serial:  st.Serial,
		Items:   items,
		Provenance: func(blocklist, hash string) []provider.IncidentRef {
			refs, err := store.Provenance(blocklist, hash)
			if err != nil {
				return nil
			}
			return refs
		},
	}
}

// stateError turns a state-store error into a user-facing error with the
// right exit code.
func stateError(err error) error {
	var le *state.LockError
	if errors.As(err, &le) {
		return withCode(ExitLocked, err)
	}
	return err
}

// writePrivateFile writes data to path with mode 0600 (via a temporary
// file and rename, so a reader never sees half a file). A symbolic link or
// other non-regular file at path is refused, not replaced.
func writePrivateFile(path string, data []byte) error {
	if err := safefile.WriteAtomic(path, data, 0o600); err != nil {
		if safefile.IsNotRegular(err) {
			return err
		}
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
