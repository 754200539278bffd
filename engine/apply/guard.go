package apply

import (
	"fmt"
	"strings"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// The ownership guard. A plan, and above all a saved plan file, is input:
// whoever can write the file can re-seal it (the digest is a plain
// SHA-256), so nothing in it may decide what is written. Before Apply sends
// anything it checks every change against the owned items read from Kibana
// in this run (Options.Live):
//
//   - an update or delete must name, by saved-object id, an item of that
//     live set whose item_id and _version are the ones the change names;
//   - an update's body must carry that same id, item_id and _version;
//   - a create must name an item_id that no live owned item has;
//   - every item_id must carry the prefix of the change's blocklist in this
//     configuration's namespace, and no item may be written twice.
//
// Each write then re-checks its change against its live item just before
// it is sent (checkWrite), and Kibana's _version guard (409 on a PUT with a
// stale _version; Delete re-reads the id and compares _version) makes sure
// the item written is still the one read: any change to an item moves its
// _version, so the id and _version of an owned item cannot come to denote
// an item without the prefix.

// liveIndex is one Kibana's live owned items by saved-object id and by
// item_id.
type liveIndex struct {
	byID     map[string]plan.LiveItem
	byItemID map[string]plan.LiveItem
}

func indexLive(ls plan.LiveSet) liveIndex {
	ix := liveIndex{byID: map[string]plan.LiveItem{}, byItemID: map[string]plan.LiveItem{}}
	for _, it := range ls.Items {
		ix.byID[it.ID] = it
		ix.byItemID[it.ItemID] = it
	}
	return ix
}

// CheckOwnership checks that every change of p names an owned item of the
// live sets or one of the plan's own creates (see the package comment on
// the ownership guard). live must have been read from Kibana in this run:
// never take it from a plan file. It returns one reason per offending
// change (at most 20, then a count).
func CheckOwnership(p *plan.Plan, namespace string, live map[string]plan.LiveSet) []string {
	var rs plan.Reasons
	add := rs.Add
	if p.Namespace != namespace {
		add("the plan is for namespace %q, the configuration's is %q", p.Namespace, namespace)
	}
	idx := map[string]liveIndex{}
	for name, ls := range live {
		idx[name] = indexLive(ls)
	}
	written := map[string]bool{} // kibana + item_id, kibana + id
	for _, bp := range p.Blocklists {
		ix, ok := idx[bp.Kibana]
		if !ok {
			add("blocklist %q writes to kibana %q, which was not read in this run", bp.Name, bp.Kibana)
			continue
		}
		for _, c := range bp.Changes {
			if r := checkChange(namespace, bp.Name, c, ix); r != "" {
				add("%s", r)
				continue
			}
			keys := []string{bp.Kibana + "\x00item_id\x00" + c.ItemID}
			if c.ID != "" {
				keys = append(keys, bp.Kibana+"\x00id\x00"+c.ID)
			}
			for _, k := range keys {
				if written[k] {
					add("%s %s: the plan writes this item more than once", c.Action, c.ItemID)
					break
				}
				written[k] = true
			}
		}
	}
	return printable(rs.List("change(s) outside the owned items"))
}

// printable makes each reason one line without control characters: the
// item_ids and versions in them come from a plan file or from Kibana, and
// reasons are printed one per line.
func printable(reasons []string) []string {
	for i, r := range reasons {
		reasons[i] = strings.Map(func(c rune) rune {
			if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
				return ' '
			}
			return c
		}, r)
	}
	return reasons
}

// checkChange returns why c may not be written, or "".
func checkChange(namespace, blocklist string, c plan.ItemChange, ix liveIndex) string {
	bp := pack.BlocklistPrefix(namespace, blocklist)
	if !strings.HasPrefix(c.ItemID, pack.OwnedPrefix(namespace)) || !strings.HasPrefix(c.ItemID, bp) {
		return fmt.Sprintf("%s %s: the item_id does not carry the prefix %q of blocklist %q", c.Action, c.ItemID, bp, blocklist)
	}
	switch c.Action {
	case provider.Create:
		if c.After == nil || c.After.ItemID != c.ItemID || c.After.ID != "" || c.After.Version != "" {
			return fmt.Sprintf("create %s: the item body does not match the change", c.ItemID)
		}
		if _, exists := ix.byItemID[c.ItemID]; exists {
			return fmt.Sprintf("create %s: an owned item with this item_id already exists", c.ItemID)
		}
		return ""
	case provider.Update, provider.Delete:
		it, ok := ix.byID[c.ID]
		switch {
		case c.ID == "" || !ok:
			return fmt.Sprintf("%s %s: id %q is not an owned item in Kibana", c.Action, c.ItemID, c.ID)
		case it.ItemID != c.ItemID:
			return fmt.Sprintf("%s %s: id %q is the owned item %s, not %s", c.Action, c.ItemID, c.ID, it.ItemID, c.ItemID)
		case it.Version != c.ExpectVersion:
			return fmt.Sprintf("%s %s: expected _version %q, Kibana has %q", c.Action, c.ItemID, c.ExpectVersion, it.Version)
		}
		if c.Action == provider.Update && (c.After == nil || c.After.ID != c.ID || c.After.ItemID != c.ItemID || c.After.Version != c.ExpectVersion) {
			return fmt.Sprintf("update %s: the item body does not name the item the change updates", c.ItemID)
		}
		return ""
	}
	return fmt.Sprintf("%s: unknown action %s", c.ItemID, c.Action)
}

// OwnershipError is a plan that names items outside the live owned set.
type OwnershipError struct {
	Reasons []string
}

func (e *OwnershipError) Error() string {
	return "refusing to apply: the plan writes items that are not owned items of this configuration in Kibana:\n  - " +
		strings.Join(e.Reasons, "\n  - ") + "\nNothing was changed."
}

// LiveFromPlan returns the live sets a plan was made from. Use it only for
// a plan made in this process from a read of this run, never for a plan
// read from a file (a file's live_items are whatever its writer put there;
// for those, pass the sets read to verify it).
func LiveFromPlan(p *plan.Plan) map[string]plan.LiveSet {
	out := map[string]plan.LiveSet{}
	for _, k := range p.Kibanas {
		out[k.Name] = plan.LiveSet{ContainerExists: !k.CreateContainer, Items: k.LiveItems}
	}
	return out
}
