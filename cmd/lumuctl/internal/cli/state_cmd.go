package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/engine/state"
)

func newStateCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect or forget owned items in the state file",
		Long: `Inspect the owned items recorded in the state file, or forget some. Addresses
are blocklist.NAME (every item of a blocklist) or an item_id.`,
	}
	cmd.AddCommand(newStateListCommand(g), newStateShowCommand(g), newStateRmCommand(g),
		newStatePullCommand(g), newStatePushCommand(g))
	return cmd
}

func newStateListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the owned items in the state",
		Example: "  lumuctl state list",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, st, err := g.stateSnapshot()
			if err != nil {
				return err
			}
			return writeStateList(g, st)
		},
	}
}

// matchAddr selects the state items an address names.
func matchAddr(st *state.State, addr string) ([]string, error) {
	var out []string
	if name, ok := strings.CutPrefix(addr, "blocklist."); ok {
		for _, id := range sortedItemIDs(st) {
			if st.Items[id].Blocklist == name {
				out = append(out, id)
			}
		}
	} else if _, ok := st.Items[addr]; ok {
		out = append(out, addr)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no item in the state matches %q (use blocklist.NAME or an item_id from \"lumuctl state list\")", addr)
	}
	return out, nil
}

func newStateShowCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "show ADDR",
		Short:   "Show owned items in the state as JSON",
		Example: "  lumuctl state show lumuctl-default-lumu-windows-sha256-0001",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, st, err := g.stateSnapshot()
			if err != nil {
				return err
			}
			ids, err := matchAddr(st, args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(g.streams.Out)
			enc.SetIndent("", "  ")
			for _, id := range ids {
				if err := enc.Encode(st.Items[id]); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func newStateRmCommand(g *globals) *cobra.Command {
	var lockTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "rm ADDR...",
		Short: "Forget owned items (Kibana is not touched)",
		Long: `Forget owned items in the state file. Nothing is deleted in Kibana: the items
keep their ownership prefix, so the next plan still sees them and plans what
the configuration says. A backup of the state is written first.`,
		Example: "  lumuctl state rm blocklist.old",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			store, cfg, err := g.stateStoreConfig()
			if err != nil {
				return err
			}
			ns := cfg.Settings.Namespace
			w, err := store.Lock(cmd.Context(), state.LockOptions{Command: "state rm", Timeout: lockTimeout})
			if err != nil {
				return interrupted(cmd.Context(), "state rm", "while waiting for the state lock", stateError(err))
			}
			defer w.Unlock()
			st, err := store.Snapshot()
			if err != nil {
				return err
			}
			if err := state.CheckNamespace(st, store.Path(), ns); err != nil {
				return err
			}
			var ids, foreign []string
			for _, a := range args {
				m, err := matchAddr(st, a)
				if err != nil {
					return err
				}
				for _, id := range m {
					if strings.HasPrefix(id, cfg.ItemIDPrefix()) {
						ids = append(ids, id)
					} else {
						foreign = append(foreign, id)
					}
				}
			}
			if len(foreign) > 0 {
				return fmt.Errorf("refusing to forget %s: not of namespace %q (item_ids of this configuration start with %q); only the configuration that owns an item may change its record, and nothing was changed", strings.Join(foreign, ", "), ns, cfg.ItemIDPrefix())
			}
			if err := w.Backup(); err != nil {
				return err
			}
			_, err = w.Commit(state.Commit{Remove: ids, Namespace: ns, History: &state.HistoryEntry{
				Time: g.now().UTC(), Who: state.CurrentUser(), Command: "state rm",
				Outcome: state.OutcomeSuccess, Message: "forgot " + strings.Join(ids, ", "),
			}})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.streams.Out, "Removed %d item(s) from the state; Kibana was not changed.\n", len(ids))
			return nil
		},
	}
	durationVar(cmd.Flags(), &lockTimeout, "lock-timeout", 0, "how long to wait for the state lock")
	return cmd
}
