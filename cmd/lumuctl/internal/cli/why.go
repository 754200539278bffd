package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/provider"
)

func newWhyCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "why HASH",
		Short: "Explain why a hash is blocked: incidents, filters, blocklists, items",
		Long: `why looks a hash up in the state as of the last apply: which Lumu incidents
(through which ioc_filter) put it in which blocklist, and which owned items
hold it. It reads only the state file.`,
		Example: "  lumuctl why 3f2a9c...c9e1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			hash := strings.ToLower(strings.TrimSpace(args[0]))
			if !isHexHash(hash) {
				return fmt.Errorf("%q is not an md5, sha1 or sha256 hash (32, 40 or 64 hex digits)", args[0])
			}
			store, st, err := g.stateSnapshot()
			if err != nil {
				return err
			}
			prov, err := store.ProvenanceAll(hash)
			if err != nil {
				return stateError(err)
			}
			type holder struct {
				Blocklist string `json:"blocklist"`
				ItemID    string `json:"item_id"`
				OS        string `json:"os"`
			}
			var items []holder
			for _, id := range sortedItemIDs(st) {
				it := st.Items[id]
				for _, e := range it.Item.Entries {
					for _, v := range e.Value {
						if v == hash {
							items = append(items, holder{it.Blocklist, id, it.OS})
						}
					}
				}
			}
			if asJSON {
				enc := json.NewEncoder(g.streams.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Hash       string                            `json:"hash"`
					Blocked    bool                              `json:"blocked"`
					Items      []holder                          `json:"items"`
					Provenance map[string][]provider.IncidentRef `json:"provenance"`
				}{hash, len(items) > 0, items, prov})
			}
			if len(items) == 0 && len(prov) == 0 {
				fmt.Fprintf(g.streams.Out, "%s is not blocked by lumuctl (as of the last apply).\n", hash)
				return nil
			}
			fmt.Fprintf(g.streams.Out, "%s\n", hash)
			var bls []string
			for bl := range prov {
				bls = append(bls, bl)
			}
			sort.Strings(bls)
			for _, bl := range bls {
				fmt.Fprintf(g.streams.Out, "  blocklist %q, because of:\n", bl)
				for _, r := range prov[bl] {
					fmt.Fprintf(g.streams.Out, "    incident %s (company %s, ioc_filter %s): %s, %s, last contact %s\n",
						views.NoControl(r.ID), r.Company, r.Filter, views.NoControl(strings.Join(r.AdversaryTypes, "/")), views.NoControl(r.Description), r.LastContact.Format("2006-01-02 15:04 MST"))
				}
			}
			for _, h := range items {
				fmt.Fprintf(g.streams.Out, "  held by %s (blocklist %s, %s)\n", h.ItemID, h.Blocklist, h.OS)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func isHexHash(s string) bool {
	if n := len(s); n != 32 && n != 40 && n != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
