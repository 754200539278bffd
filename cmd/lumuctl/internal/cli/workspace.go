package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/operation"
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
	parser *config.Parser
	cfg    *config.Config
	store  state.Store
}

// loadWorkspace loads the configuration of the working directory with every
// variable resolved (not offline).
func (g *globals) loadWorkspace(vars []config.VarArg) (*workspace, hcl.Diagnostics) {
	p := config.NewParser()
	cfg, diags := p.LoadDir(".", config.LoadOptions{Vars: vars, Getenv: g.env})
	ws := &workspace{parser: p, cfg: cfg}
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

// stateError turns a state-store error into a user-facing error with the
// right exit code.
func stateError(err error) error {
	var le *state.LockError
	if errors.As(err, &le) {
		return withCode(ExitLocked, err)
	}
	return err
}

// writePrivateFile writes data to path with mode 0600, atomically
// (operation.WritePrivateFile).
func writePrivateFile(path string, data []byte) error { return operation.WritePrivateFile(path, data) }
