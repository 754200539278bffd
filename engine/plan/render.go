package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Item rendering: everything lumuctl writes besides the hash values. A live
// item that differs from this rendering has drifted and is rewritten.

// ItemName is the name of an owned item (≤ 256 chars: labels are ≤ 48).
func ItemName(blocklist, os string, ht provider.HashType, seq int) string {
	return fmt.Sprintf("lumuctl: %s (%s, %s) #%04d", blocklist, os, ht, seq)
}

// ItemDescription is the description of an owned item (≤ 256 chars).
func ItemDescription(ns, blocklist string) string {
	return fmt.Sprintf("Managed by lumuctl (namespace %s, blocklist %s) from Lumu Defender incidents. Manual edits are reverted on the next apply.", ns, blocklist)
}

// PolicyTags returns the policy tags for a blocklist: policy:all when
// policyIDs is empty, else policy:<id> for each, sorted.
func PolicyTags(policyIDs []string) []string {
	if len(policyIDs) == 0 {
		return []string{"policy:all"}
	}
	out := make([]string, 0, len(policyIDs))
	for _, id := range policyIDs {
		out = append(out, "policy:"+id)
	}
	sort.Strings(out)
	return out
}

// ownerSpaceTags returns the ownerSpaceId:* tags Kibana (9.1+) added to an
// item; they are kept on every update (the Kibana client sends the body as
// rendered here and adds nothing).
func ownerSpaceTags(tags []string) []string { return filterTags(tags, true) }

// filterTags returns the ownerSpaceId:* tags of tags (owner true) or the
// others (owner false).
func filterTags(tags []string, owner bool) []string {
	var out []string
	for _, t := range tags {
		if strings.HasPrefix(t, ownerSpaceTag) == owner {
			out = append(out, t)
		}
	}
	return out
}

// renderItem builds the full body of an owned item.
func renderItem(in *planInput, itemID, os string, ht provider.HashType, seq int, values []string, keepTags []string) *provider.Item {
	tags := append(PolicyTags(in.policyIDs), keepTags...)
	return &provider.Item{
		ItemID:      itemID,
		Name:        ItemName(in.name, os, ht, seq),
		Description: ItemDescription(in.ns, in.name),
		OSTypes:     []string{os},
		Tags:        tags,
		Entries: []provider.Entry{{
			Field:    "file.hash." + string(ht),
			Type:     "match_any",
			Operator: "included",
			Value:    values,
		}},
		Type: "simple",
	}
}

// shapeDrift compares a live item with its rendering, hash values aside, and
// returns the aspects that differ.
func shapeDrift(live provider.Item, want *provider.Item) []string {
	var what []string
	if live.Name != want.Name {
		what = append(what, "name")
	}
	if live.Description != want.Description {
		what = append(what, "description")
	}
	if !equalStrings(live.OSTypes, want.OSTypes) {
		what = append(what, "os_types")
	}
	if !equalSorted(filterTags(live.Tags, false), filterTags(want.Tags, false)) {
		what = append(what, "tags")
	}
	if len(live.Entries) != 1 || live.Entries[0].Field != want.Entries[0].Field ||
		live.Entries[0].Type != "match_any" || live.Entries[0].Operator != "included" {
		what = append(what, "entries")
	}
	return what
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalSorted(a, b []string) bool {
	a = append([]string(nil), a...)
	b = append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return equalStrings(a, b)
}
