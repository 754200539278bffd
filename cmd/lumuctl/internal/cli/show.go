package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/state"
)

type showFlags struct {
	json     bool
	markdown bool
}

func newShowCommand(g *globals) *cobra.Command {
	var f showFlags
	cmd := &cobra.Command{
		Use:   "show [PLANFILE] [--json|--markdown]",
		Short: "Render a saved plan, or the current state",
		Long: `With PLANFILE, render a plan saved by "lumuctl plan --out" (as text, one JSON
document, or markdown). Without it, summarise the state file: the owned items
as last applied. show reads only local files.`,
		Example: `  lumuctl show lumuctl.plan
  lumuctl show lumuctl.plan --json | jq .summary
  lumuctl show --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return showPlan(g, f, args[0])
			}
			if f.markdown {
				return fmt.Errorf("--markdown needs a PLANFILE")
			}
			return showState(g, f.json)
		},
	}
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON document")
	cmd.Flags().BoolVar(&f.markdown, "markdown", false, "print the pull-request comment rendering")
	cmd.MarkFlagsMutuallyExclusive("json", "markdown")
	return cmd
}

func showPlan(g *globals, f showFlags, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	p, err := plan.Decode(fh)
	if err != nil {
		// Exit 1: only apply "refuses" a plan (exit 4).
		return fmt.Errorf("%s: %w", path, err)
	}
	switch {
	case f.json:
		enc := json.NewEncoder(g.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(views.PlanDocument(p))
	case f.markdown:
		_, err := fmt.Fprint(g.streams.Out, views.RenderMarkdown(p, views.MarkdownOptions{PlanFile: path}))
		return err
	}
	fmt.Fprintf(g.streams.Out, "Plan %s, made %s by lumuctl %s (%s mode).\n\n", p.Digest[:12], p.CreatedAt.Format("2006-01-02 15:04:05 MST"), p.ToolVersion, p.Mode)
	return views.WritePlanHuman(g.streams.Out, p, views.PlanHumanOptions{Color: g.color(g.streams.Out), Verbose: g.verbose > 0})
}

// stateStore finds the state file of the configuration without needing
// variable values (offline load) and returns its store.
func (g *globals) stateStore() (state.Store, error) {
	s, _, err := g.stateStoreConfig()
	return s, err
}

// stateStoreConfig is stateStore that also returns the (offline)
// configuration.
func (g *globals) stateStoreConfig() (state.Store, *config.Config, error) {
	p := config.NewParser()
	cfg, diags := p.LoadDir(".", config.LoadOptions{Getenv: g.env, Offline: true})
	if diags.HasErrors() {
		_ = views.WriteDiagnostics(g.streams.Out, g.streams.Err, p.Files(), diags, g.color(g.streams.Err))
		return nil, nil, silentExit(ExitError)
	}
	s, err := openStore(cfg)
	return s, cfg, err
}

// stateSnapshot reads the last committed state (never waiting for the
// write lock).
func (g *globals) stateSnapshot() (state.Store, *state.State, error) {
	store, err := g.stateStore()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Snapshot()
	if err != nil {
		return nil, nil, stateError(err)
	}
	return store, st, nil
}

func showState(g *globals, asJSON bool) error {
	store, st, err := g.stateSnapshot()
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(g.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(stateDocument(st))
	}
	if st.Lineage == "" {
		fmt.Fprintf(g.streams.Out, "No state yet: nothing has been applied (state file %s).\n", store.Path())
		return nil
	}
	fmt.Fprintf(g.streams.Out, "State %s: lineage %s, serial %d, %d owned item(s).\n", store.Path(), st.Lineage, st.Serial, len(st.Items))
	return writeStateList(g, st)
}

// stateDoc is the JSON form of the state summary (no provenance).
type stateDoc struct {
	FormatVersion int                  `json:"format_version"`
	Lineage       string               `json:"lineage"`
	Serial        uint64               `json:"serial"`
	Items         []state.Item         `json:"items"`
	Pending       []state.JournalEntry `json:"pending_journal,omitempty"`
}

func stateDocument(st *state.State) stateDoc {
	doc := stateDoc{FormatVersion: 1, Lineage: st.Lineage, Serial: st.Serial, Pending: st.Pending(), Items: []state.Item{}}
	for _, id := range sortedItemIDs(st) {
		doc.Items = append(doc.Items, st.Items[id])
	}
	return doc
}

func sortedItemIDs(st *state.State) []string {
	ids := make([]string, 0, len(st.Items))
	for id := range st.Items {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func writeStateList(g *globals, st *state.State) error {
	for _, id := range sortedItemIDs(st) {
		it := st.Items[id]
		n := 0
		for _, e := range it.Item.Entries {
			n += len(e.Value)
		}
		// item_ids were read from Kibana: no escape sequence reaches the terminal.
		if _, err := fmt.Fprintf(g.streams.Out, "blocklist.%s  %s  %s/%s  %d hashes\n", it.Blocklist, views.NoControl(id), it.OS, it.HashType, n); err != nil {
			return err
		}
	}
	return nil
}
