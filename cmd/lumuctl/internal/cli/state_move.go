package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/providers/lumu"
)

// Moving a whole state between the configured backend and a local state
// file (SPEC 10): state pull FILE, state push FILE, init --migrate-state.
// Everything goes through state.Exporter and state.Replacer, which both
// backends implement.

func exportStore(s state.Store) (*state.Dump, error) {
	ex, ok := s.(state.Exporter)
	if !ok {
		return nil, fmt.Errorf("the state at %s cannot be exported", s.Path())
	}
	return ex.Export()
}

func replaceWith(w state.Writer, d *state.Dump) error {
	r, ok := w.(state.Replacer)
	if !ok {
		return errors.New("this state backend cannot be replaced")
	}
	return r.Replace(d)
}

// dumpSummary is "lineage L, serial N, K owned item(s)".
func dumpSummary(d *state.Dump) string {
	return fmt.Sprintf("lineage %s, serial %d, %d owned item(s)", d.Lineage, d.Serial, len(d.Items))
}

func newStatePullCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "pull FILE",
		Short: "Write the configured state to a local state file",
		Long: `Write the state of the configured backend (or the local state file) to FILE,
a local bbolt state file with the same lineage and serial, replacing FILE if it
exists. Readers never wait for the write lock: this copies the last committed
state, read in one consistent snapshot. Use it for a backup or to inspect the
state offline (lumuctl state push FILE puts it back).`,
		Example: "  lumuctl state pull backup.db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, err := g.stateStore()
			if err != nil {
				return err
			}
			defer closeStore(store)
			d, err := exportStore(store)
			if err != nil {
				return stateError(err)
			}
			if d.Lineage == "" {
				return fmt.Errorf("there is no state at %s yet: nothing to pull", store.Path())
			}
			if err := writeStateFile(cmd.Context(), args[0], d); err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Out, "Pulled the state of %s into %s: %s.\n", store.Path(), args[0], dumpSummary(d))
			return nil
		},
	}
}

// writeStateFile writes d into a new bbolt state file beside path and
// renames it over path.
func writeStateFile(ctx context.Context, path string, d *state.Dump) error {
	dir, err := os.MkdirTemp(filepath.Dir(path), "."+filepath.Base(path)+".pull*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := boltstore.New(filepath.Join(dir, "state.db"), boltstore.Options{})
	w, err := tmp.Lock(ctx, state.LockOptions{Command: "state pull"})
	if err != nil {
		return err
	}
	err = replaceWith(w, d)
	if uerr := w.Unlock(); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Path(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// readStateFile exports a local state file, refusing a missing one.
func readStateFile(path string) (*state.Dump, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no state file at %s", path)
		}
		return nil, err
	}
	d, err := boltstore.New(path, boltstore.Options{}).Export()
	if err != nil {
		return nil, err
	}
	if d.Lineage == "" {
		return nil, fmt.Errorf("%s holds no state yet", path)
	}
	return d, nil
}

func newStatePushCommand(g *globals) *cobra.Command {
	var force bool
	var lockTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "push FILE",
		Short: "Replace the configured state with a local state file",
		Long: `Replace the state of the configured backend (or the local state file) with
FILE, a local bbolt state file, under the write lock. FILE must have the same
lineage and a newer serial than the configured state; --force skips both checks
(the serial then still moves forward, so saved plans made against the replaced
state are refused).`,
		Example: "  lumuctl state pull s.db && lumuctl state rm blocklist.old ... && lumuctl state push s.db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := readStateFile(args[0])
			if err != nil {
				return err
			}
			store, err := g.stateStore()
			if err != nil {
				return err
			}
			defer closeStore(store)
			w, err := store.Lock(cmd.Context(), state.LockOptions{Command: "state push", Timeout: lockTimeout})
			if err != nil {
				return interrupted(cmd.Context(), "state push", "while waiting for the state lock", stateError(err))
			}
			defer w.Unlock()
			dst, err := exportStore(store)
			if err != nil {
				return err
			}
			if dst.Lineage != "" && !force {
				if dst.Lineage != src.Lineage {
					return withCode(ExitError, fmt.Errorf("%s has lineage %s but %s holds lineage %s: they are different states; use --force to replace it anyway", args[0], src.Lineage, store.Path(), dst.Lineage))
				}
				if src.Serial <= dst.Serial {
					return withCode(ExitError, fmt.Errorf("%s has serial %d, not newer than serial %d at %s: pull, change and push again, or use --force", args[0], src.Serial, dst.Serial, store.Path()))
				}
			}
			if err := w.Backup(); err != nil {
				return err
			}
			if err := replaceWith(w, src); err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Out, "Pushed %s into %s: %s.\n", args[0], store.Path(), dumpSummary(src))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace even another lineage or an older serial")
	durationVar(cmd.Flags(), &lockTimeout, "lock-timeout", 0, "how long to wait for the state lock")
	return cmd
}

// migrateState copies the local state file from (default: the default
// state_path) into the configured backend (init --migrate-state). It
// refuses when the backend already holds another lineage for the
// namespace; the same lineage at the same or a newer serial is left alone.
func migrateState(ctx context.Context, g *globals, cfg *config.Config, store state.Store, from string) error {
	if cfg.Settings.Backend == nil {
		return errors.New("init --migrate-state needs a backend block in the settings: there is nothing to migrate to")
	}
	if from == "" {
		from = cfg.Path(config.DefaultStatePath)
	}
	src, err := readStateFile(from)
	if err != nil {
		return fmt.Errorf("migrate state: %w", err)
	}
	w, err := store.Lock(ctx, state.LockOptions{Command: "init --migrate-state"})
	if err != nil {
		return stateError(err)
	}
	defer w.Unlock()
	dst, err := exportStore(store)
	if err != nil {
		return err
	}
	switch {
	case dst.Lineage != "" && dst.Lineage != src.Lineage:
		return fmt.Errorf("migrate state: %s already holds another state (lineage %s) for namespace %q; %s has lineage %s. Refusing to replace it (state push --force does, if that is really meant)",
			store.Path(), dst.Lineage, cfg.Settings.Namespace, from, src.Lineage)
	case dst.Lineage == src.Lineage && dst.Serial >= src.Serial:
		fmt.Fprintf(g.streams.Out, "The state of %s is already in %s (%s); nothing migrated.\n", from, store.Path(), dumpSummary(dst))
		return nil
	}
	if err := replaceWith(w, src); err != nil {
		return err
	}
	fmt.Fprintf(g.streams.Out, "Migrated the state %s into %s: %s. The local file is left as it was; remove it once you no longer need it.\n", from, store.Path(), dumpSummary(src))
	return migrateCache(g, store, filepath.Join(filepath.Dir(from), filepath.Base(config.DefaultCachePath)))
}

// migrateCache copies the local Lumu cache file beside the migrated state
// into the backend's cache (a missing file copies nothing).
func migrateCache(g *globals, store state.Store, path string) error {
	c := sourceCache(store)
	if c == nil {
		return nil
	}
	defer c.Close()
	n, err := lumu.CopyCache(path, c)
	if err != nil {
		return fmt.Errorf("migrate the Lumu cache: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(g.streams.Out, "Copied %d cached Lumu incident(s) from %s.\n", n, path)
	}
	return nil
}
