package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/providers/lumu"
)

// exampleFile is the file `init --example` writes.
const exampleFile = "main" + config.ConfigSuffix

// initFlags are the flags of `lumuctl init`.
type initFlags struct {
	example bool // write a commented starter configuration first
	// migrate copies the local state file (from, default the default
	// state_path) into the configured backend.
	migrate bool
	from    string
}

func (f *initFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&f.example, "example", false, "write a commented starter "+exampleFile+" first")
	fs.BoolVar(&f.migrate, "migrate-state", false, "copy the local state file into the configured backend (settings.backend)")
	fs.StringVar(&f.from, "from", "", "with --migrate-state: the local state file to copy (default "+config.DefaultStatePath+")")
}

func newInitCommand(g *globals) *cobra.Command {
	var flags initFlags
	cmd := &cobra.Command{
		Use:   "init [--example] [--migrate-state [--from STATE_PATH]]",
		Short: "Prepare the working directory",
		Long: `Prepare the working directory (or --chdir DIR): check the configuration
offline, then create the directories of the state and cache files
(settings.state_path and settings.cache_path, mode 0700) and the files
themselves.

With --example, first write a commented starter ` + exampleFile + ` to edit;
an existing file is never overwritten.

With a backend block (settings { backend "postgres" { ... } }), init creates
the tables (schema) and the namespace's state in the database instead of the
state file. --migrate-state then copies a local state file (--from, default
` + config.DefaultStatePath + `) into it, keeping its lineage and serial; it refuses
when the backend already holds another lineage for the namespace.`,
		Example: `  mkdir blocklists && cd blocklists
  lumuctl init --example
  lumuctl validate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if flags.from != "" && !flags.migrate {
				return withCode(ExitError, errors.New("--from goes with --migrate-state"))
			}
			return runInit(cmd.Context(), g, flags, g.color(g.streams.Out) && g.color(g.streams.Err))
		},
	}
	flags.register(cmd.Flags())
	return cmd
}

func runInit(ctx context.Context, g *globals, flags initFlags, color bool) error {
	out := g.streams.Out
	if flags.example {
		f, err := os.OpenFile(exampleFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists; refusing to overwrite it (remove it or run init without --example)", exampleFile)
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", exampleFile, err)
		}
		_, werr := f.WriteString(ExampleConfig)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("write %s: %w", exampleFile, werr)
		}
		fmt.Fprintf(out, "Wrote %s: a starter configuration to edit.\n", exampleFile)
	}
	p := config.NewParser()
	cfg, diags := p.LoadDir(".", config.LoadOptions{Getenv: g.env, Offline: true})
	if err := views.WriteDiagnostics(out, g.streams.Err, p.Files(), diags, color); err != nil {
		return err
	}
	if diags.HasErrors() {
		return silentExit(ExitError)
	}
	if cfg.Settings.Backend != nil {
		return initBackend(ctx, g, cfg, flags)
	}
	if flags.migrate {
		return withCode(ExitError, errors.New("init --migrate-state needs a backend block in the settings (settings { backend \"postgres\" { url = ... } }): there is nothing to migrate to"))
	}
	for _, path := range []string{cfg.StateFile(), cfg.CacheFile()} {
		dir := filepath.Dir(path)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("create directory %s: %w", dir, err)
		}
	}
	if err := initStateFiles(cfg); err != nil {
		return err
	}
	fmt.Fprintf(out, "Initialized: state %s, cache %s, namespace %q.\n", cfg.StateFile(), cfg.CacheFile(), cfg.Settings.Namespace)
	return nil
}

// initBackend initialises the configured backend (schema, tables and the
// namespace's state), migrating a local state file into it first when asked.
func initBackend(ctx context.Context, g *globals, cfg *config.Config, flags initFlags) error {
	store, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer closeStore(store)
	if flags.migrate {
		if err := migrateState(ctx, g, cfg, store, flags.from); err != nil {
			return err
		}
	}
	// Init creates the schema with every table, the cache's included.
	if _, err := store.Init(); err != nil {
		return stateError(err)
	}
	fmt.Fprintf(g.streams.Out, "Initialized: state and cache %s.\n", store.Path())
	return nil
}

// initStateFiles creates the bbolt state file (with its lineage) and the
// Lumu cache file of cfg, mode 0600, when they do not exist yet. An existing
// state file is only checked (format version, integrity of the meta data).
func initStateFiles(cfg *config.Config) error {
	if _, err := boltstore.New(cfg.StateFile(), boltstore.Options{}).Init(); err != nil {
		return err
	}
	src, diags := lumu.NewSource(provider.SourceOptions{CachePath: cfg.CacheFile()})
	if diags.HasErrors() {
		return fmt.Errorf("create the cache %s: %s", cfg.CacheFile(), diags.Error())
	}
	return src.Close()
}
