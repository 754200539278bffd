package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

func newWhyCommand(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "why HASH",
		Short: "Explain why a hash is blocked: incidents, filters, blocklists, items",
		Long: `why looks a hash up in the state as of the last apply: which Lumu incidents
(through which ioc_filter) put it in which blocklist, and which owned items
hold it. It reads only the state file.

HASH is a whole md5, sha1 or sha256 hash, the shortened form the plan prints
(0212…461d, or 0212...461d), or a prefix of at least 4 hex digits. A short
form must match exactly one hash blocked by lumuctl; when it matches more,
the candidates are listed.`,
		Example: `  lumuctl why 02121085cd28a51047ac9fc06dc6461d
  lumuctl why 0212…461d
  lumuctl why 0212`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pat, err := parseHashPattern(args[0])
			if err != nil {
				return err
			}
			store, st, err := g.stateSnapshot()
			if err != nil {
				return err
			}
			hash := pat.full
			if hash == "" {
				if hash, err = pat.resolve(st.Items); err != nil {
					return err
				}
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

// minHashPrefix is the fewest hex digits a shortened hash may give.
const minHashPrefix = 4

// hashPattern is what why accepts: a whole hash, or a prefix with an
// optional suffix (the plan's "0212…461d").
type hashPattern struct {
	arg          string // as typed, for messages
	full         string // a whole hash; "" for a short form
	prefix, tail string
}

// parseHashPattern reads why's argument: a whole hash (any case), "P…S" or
// "P...S" (the plan's shortened form) or a prefix P, with at least
// minHashPrefix hex digits in P.
func parseHashPattern(arg string) (hashPattern, error) {
	s := provider.NormalizeHash(arg)
	p := hashPattern{arg: arg}
	if provider.ValidHash(s) {
		p.full = s
		return p, nil
	}
	prefix, tail, short := strings.Cut(s, "…")
	if !short {
		prefix, tail, short = strings.Cut(s, "...")
	}
	if !short {
		prefix = s
	}
	bad := func() (hashPattern, error) {
		return p, fmt.Errorf("%q is not a hash: give an md5, sha1 or sha256 hash (32, 40 or 64 hex digits), the plan's short form (0212…461d) or a prefix of at least %d hex digits", arg, minHashPrefix)
	}
	if len(prefix) < minHashPrefix || !isHex(prefix) || !isHex(tail) || len(prefix)+len(tail) > 64 {
		return bad()
	}
	p.prefix, p.tail = prefix, tail
	return p, nil
}

// resolve finds the one hash held by an owned item that matches the short
// form. No match and more than one match are errors; the latter lists the
// candidates.
func (p hashPattern) resolve(items map[string]state.Item) (string, error) {
	seen := map[string]bool{}
	for _, it := range items {
		for _, e := range it.Item.Entries {
			for _, v := range e.Value {
				if strings.HasPrefix(v, p.prefix) && strings.HasSuffix(v[len(p.prefix):], p.tail) {
					seen[v] = true
				}
			}
		}
	}
	matches := make([]string, 0, len(seen))
	for h := range seen {
		matches = append(matches, h)
	}
	sort.Strings(matches)
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("no hash blocked by lumuctl matches %s (as of the last apply)", p.arg)
	case 1:
		return matches[0], nil
	}
	const show = 10
	var b strings.Builder
	fmt.Fprintf(&b, "%s matches %d hashes blocked by lumuctl; give more digits:", p.arg, len(matches))
	for _, h := range matches[:min(len(matches), show)] {
		b.WriteString("\n  " + h)
	}
	if len(matches) > show {
		fmt.Fprintf(&b, "\n  … %d more", len(matches)-show)
	}
	return "", errors.New(b.String())
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
