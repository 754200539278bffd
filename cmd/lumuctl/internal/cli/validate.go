package cli

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/config"
)

// validateFlags are the flags of `lumuctl validate`.
type validateFlags struct {
	json bool // print one JSON document instead of human text
}

func (f *validateFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.json, "json", false, "print the result as one JSON document")
}

func newValidateCommand(g *globals) *cobra.Command {
	var flags validateFlags
	cmd := &cobra.Command{
		Use:   "validate [--json]",
		Short: "Check the configuration (offline)",
		Long: `Check the *.lumu.hcl files of the working directory (or --chdir DIR):
syntax, references between blocks, types and allowed ranges. validate is
offline: it reads no state and talks to neither Lumu nor Kibana, and variables
without a value are checked by type only.

Exit status: 0 when the configuration is valid (warnings allowed), 1 when it
has errors.`,
		Example: `  lumuctl validate
  lumuctl --chdir examples/basic validate --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			color := !flags.json && g.color(g.streams.Out) && g.color(g.streams.Err)
			view := views.NewValidate(flags.json, g.streams.Out, g.streams.Err, color)
			return runValidate(g, view)
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

// runValidate loads the configuration of the working directory offline and
// reports the result through view.
func runValidate(g *globals, view views.Validate) error {
	p := config.NewParser()
	_, diags := p.LoadDir(".", config.LoadOptions{Getenv: g.env, Offline: true})
	if err := view.Results(diags, p.Files()); err != nil {
		return err
	}
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	return nil
}
