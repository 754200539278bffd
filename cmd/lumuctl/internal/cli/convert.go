package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/convert"
	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/safefile"
)

// convertFlags are the flags of `lumuctl convert`.
type convertFlags struct {
	companies    string
	integrations string
	out          string
	force        bool
}

func (f *convertFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.companies, "companies", "companies.yml", "the original integration's companies `FILE`")
	fs.StringVar(&f.integrations, "integrations", "integrations.yml", "the original integration's integrations `FILE`")
	fs.StringVar(&f.out, "out", ".", "write the configuration into `DIR` (created if missing)")
	fs.BoolVar(&f.force, "force", false, "overwrite "+convert.MainFile+" and "+convert.VarsExampleFile+" if they exist")
}

func newConvertCommand(g *globals) *cobra.Command {
	var flags convertFlags
	cmd := &cobra.Command{
		Use:   "convert [--companies FILE] [--integrations FILE] [--out DIR] [--force]",
		Short: "Write a configuration from the original integration's YAML files",
		Long: `Read the original Lumu custom response integration's companies.yml and
integrations.yml and write ` + convert.MainFile + ` (formatted, valid) and
` + convert.VarsExampleFile + ` into --out DIR.

Every company becomes a company and an ioc_filter block, every integration a
kibana and a blocklist block. Keys never become literals: each defender_key
and ApiKey becomes a sensitive variable, and convert prints the
LUMUCTL_VAR_<name> names to set, never a key. An integration with
clean: true is written commented out (in lumuctl, cleaning is destroy).

Unknown fields are warnings; malformed YAML, a missing required field or an
integration whose uuid matches no company is an error naming file:line, and
then nothing is written. Existing files are never overwritten without --force.
docs/migrating.md walks through a switch-over.`,
		Example: `  lumuctl convert --companies /opt/lumu/companies.yml \
      --integrations /opt/lumu/integrations.yml --out blocklists
  cd blocklists && cp lumuctl.lumuvars.example lumuctl.lumuvars && lumuctl plan`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConvert(g, flags, g.color(g.streams.Out) && g.color(g.streams.Err))
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

func runConvert(g *globals, flags convertFlags, color bool) error {
	companies, err := os.ReadFile(flags.companies)
	if err != nil {
		return fmt.Errorf("read companies file: %w", err)
	}
	integrations, err := os.ReadFile(flags.integrations)
	if err != nil {
		return fmt.Errorf("read integrations file: %w", err)
	}
	out, diags := convert.Convert(convert.Input{
		CompaniesFile: flags.companies, Companies: companies,
		IntegrationsFile: flags.integrations, Integrations: integrations,
	})
	// No file map: diagnostics show file:line but never the YAML line,
	// which may hold a key.
	if err := views.WriteDiagnostics(g.streams.Err, g.streams.Err, nil, diags, color); err != nil {
		return err
	}
	if diags.HasErrors() {
		return withCode(ExitError, fmt.Errorf("nothing written: fix the errors above in %s or %s", flags.companies, flags.integrations))
	}
	files := []struct {
		name string
		data []byte
	}{{convert.MainFile, out.Main}, {convert.VarsExampleFile, out.VarsExample}}
	for _, f := range files {
		p := filepath.Join(flags.out, f.name)
		if err := safefile.CheckTarget(p); err != nil {
			return fmt.Errorf("%s: %w; nothing written", p, err)
		}
		if !flags.force {
			if _, err := os.Lstat(p); err == nil {
				return fmt.Errorf("%s already exists; nothing written (use --force to overwrite)", p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("check %s: %w", p, err)
			}
		}
	}
	if err := checkConverted(out.Main); err != nil {
		return err
	}
	if err := os.MkdirAll(flags.out, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", flags.out, err)
	}
	for _, f := range files {
		p := filepath.Join(flags.out, f.name)
		if err := safefile.WriteAtomic(p, f.data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	w := g.streams.Out
	fmt.Fprintf(w, "Wrote %s and %s: %d blocklist(s).\n", filepath.Join(flags.out, convert.MainFile), filepath.Join(flags.out, convert.VarsExampleFile), out.Blocklists)
	fmt.Fprintln(w, "\nSet the keys before the first plan, in lumuctl.lumuvars or the environment:")
	for _, v := range out.Variables {
		fmt.Fprintf(w, "  export %s%s=...   # %s\n", config.EnvVarPrefix, v.Name, v.Description)
	}
	fmt.Fprintln(w, "\nThen review with \"lumuctl plan\" (docs/migrating.md).")
	return nil
}

// checkConverted loads the converted configuration offline, as validate
// would, from a scratch directory. An error there is a bug in convert; it is
// reported before anything is written.
func checkConverted(main []byte) error {
	dir, err := os.MkdirTemp("", "lumuctl-convert-")
	if err != nil {
		return fmt.Errorf("check converted configuration: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, convert.MainFile), main, 0o600); err != nil {
		return fmt.Errorf("check converted configuration: %w", err)
	}
	_, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Offline: true})
	if diags.HasErrors() {
		return fmt.Errorf("internal error: the converted configuration does not validate (%s); nothing written, please report this", diags.Error())
	}
	return nil
}
