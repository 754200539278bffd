package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// lumuPageSize is the page size lumuctl asks of Lumu list endpoints (the
// API's maximum, providers/lumu.PageSize).
const lumuPageSize = 100

// group names the one slot group a benchmark blocklist fills.
type group struct {
	Namespace, Blocklist, OS string
	Type                     provider.HashType
	Max                      int
}

// lowerBound is pack.LowerBound for g, with the group's owned items taken
// from what the Kibana stand-in holds (before the change) and desired the
// group's desired set after it. Items outside g (unowned, other groups) are
// ignored.
func lowerBound(g group, items []kibanasim.Item, desired []string) (int, error) {
	existing, err := groupItems(g, items)
	if err != nil {
		return 0, err
	}
	return pack.LowerBound(pack.Input{Type: g.Type, Max: g.Max, Existing: existing, Desired: desired})
}

// groupItems returns the owned items of g among items, as pack.Existing.
func groupItems(g group, items []kibanasim.Item) ([]pack.Existing, error) {
	prefix := pack.BlocklistPrefix(g.Namespace, g.Blocklist)
	field := "file.hash." + string(g.Type)
	var out []pack.Existing
	for _, it := range items {
		if it.ListID != kibanasim.BlocklistListID || !strings.HasPrefix(it.ItemID, prefix) {
			continue
		}
		os, ht, seq, ok := pack.ParseItemID(prefix, it.ItemID)
		if !ok {
			return nil, fmt.Errorf("owned item %q does not parse as a lumuctl item id", it.ItemID)
		}
		if os != g.OS || ht != g.Type {
			continue
		}
		ex := pack.Existing{ID: it.ItemID, Seq: seq}
		for _, e := range it.Entries {
			if e.Field == field {
				ex.Values = append(ex.Values, e.Value...)
			}
		}
		out = append(out, ex)
	}
	return out, nil
}

// groupValues counts the values the owned items of g hold, and the number
// of those items.
func groupValues(g group, items []kibanasim.Item) (values, n int, err error) {
	ex, err := groupItems(g, items)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ex {
		values += len(e.Values)
	}
	return values, len(ex), nil
}

// perHashWrites is the number of item writes the one-item-per-hash layout
// of a generic Terraform exception-item resource makes for a change: one
// delete per removed hash and one create per added hash (an initial sync
// is all adds).
func perHashWrites(removed, added int) int { return removed + added }

// perHashApplyTime is how long the one-item-per-hash layout takes for
// writes item writes at latency each with parallelism concurrent writes
// (the latency dominates: the stand-in answers at once otherwise).
func perHashApplyTime(writes int, latency time.Duration, parallelism int) time.Duration {
	if parallelism < 1 {
		parallelism = 1
	}
	rounds := (writes + parallelism - 1) / parallelism
	return time.Duration(rounds) * latency
}

// lumuFilter is the part of an ioc_filter that decides which incidents are
// listed and kept, as the benchmark configurations set it.
type lumuFilter struct {
	HashTypes      []lumusim.HashType
	AdversaryTypes []string
	Statuses       []string
	Days           int
	OnlyActive     bool
}

// lumuMinimum is SPEC section 8's minimum of Lumu calls for one cold plan
// of f over incidents at time now: the list pages of the incidents that
// match (status, window, adversary type), and for each of them one
// context per hash type, or one context only when only_active is set and
// the incident is inactive (the first context says so; the other types are
// not needed).
func lumuMinimum(incidents []*lumusim.Incident, f lumuFilter, now time.Time) (pages, contexts int) {
	kept := keptIncidents(incidents, f, now)
	pages = max(1, (len(kept)+lumuPageSize-1)/lumuPageSize)
	for _, inc := range kept {
		contexts += contextsNeeded(inc, f)
	}
	return pages, contexts
}

// contextsNeeded is the number of context calls inc needs under f.
func contextsNeeded(inc *lumusim.Incident, f lumuFilter) int {
	if f.OnlyActive && !inc.CurrentlyActive {
		return 1
	}
	return len(f.HashTypes)
}

// keptIncidents returns the incidents f lists and keeps at now, in input
// order: status among f.Statuses (muted never), last contact within the
// last f.Days days, an adversary type among f.AdversaryTypes.
func keptIncidents(incidents []*lumusim.Incident, f lumuFilter, now time.Time) []*lumusim.Incident {
	from := now.Add(-time.Duration(f.Days) * 24 * time.Hour)
	var out []*lumusim.Incident
	for _, inc := range incidents {
		if inc.Status == lumusim.StatusMuted || !slices.Contains(f.Statuses, inc.Status) {
			continue
		}
		if inc.LastContact.Before(from) || inc.LastContact.After(now) {
			continue
		}
		if !slices.ContainsFunc(inc.AdversaryTypes, func(t string) bool { return slices.Contains(f.AdversaryTypes, t) }) {
			continue
		}
		out = append(out, inc)
	}
	return out
}

// target is a pass/fail check of a measured figure against a limit.
type target struct {
	Limit  float64 `json:"limit"`
	Unit   string  `json:"unit"`
	Passed bool    `json:"passed"`
}

func checkTarget(v, limit float64, unit string) target {
	return target{Limit: limit, Unit: unit, Passed: v < limit}
}
