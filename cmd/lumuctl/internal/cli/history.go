package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/state"
)

func newHistoryCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "history [--json]",
		Short: "Show the audit log of applies, destroys and state rm",
		Long: `history lists every apply, destroy and state rm recorded in the state: when
(UTC), who (user@host), the plan digest, item and hash counts, the outcome
(success, partial, error, interrupted) and a message when there is one.
--json prints one JSON array of the same entries.`,
		Example: "  lumuctl history --json | jq '.[] | select(.outcome != \"success\")'",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			store, err := g.stateStore()
			if err != nil {
				return err
			}
			hist, err := store.History()
			if err != nil {
				return stateError(err)
			}
			if asJSON {
				if hist == nil {
					hist = []state.HistoryEntry{}
				}
				enc := json.NewEncoder(g.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(hist)
			}
			if len(hist) == 0 {
				fmt.Fprintln(g.streams.Out, "No applies recorded yet.")
				return nil
			}
			for _, h := range hist {
				digest := h.PlanDigest
				if len(digest) > 12 {
					digest = digest[:12]
				}
				c := h.Counts
				fmt.Fprintf(g.streams.Out, "%s  %-9s %-10s %-24s plan %-12s items +%d ~%d -%d  hashes +%d -%d",
					h.Time.Format("2006-01-02 15:04:05Z07:00"), h.Command, h.Outcome, h.Who, digest,
					c.ItemsAdded, c.ItemsChanged, c.ItemsDestroyed, c.HashesAdded, c.HashesRemoved)
				if h.Message != "" {
					fmt.Fprintf(g.streams.Out, "  %s", views.NoControl(h.Message))
				}
				fmt.Fprintln(g.streams.Out)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON array")
	return cmd
}
