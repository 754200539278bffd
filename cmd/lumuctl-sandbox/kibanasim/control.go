package kibanasim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Control returns the JSON control API. It serves, under /kibana/:
//
//	GET  /kibana/items            every stored item (all lists), sorted by item_id
//	POST /kibana/items/edit       EditRequest: change an item as someone else would (bumps _version)
//	POST /kibana/items/delete     {"id"} or {"item_id"}: delete an item behind lumuctl's back
//	GET  /kibana/faults           scheduled faults
//	POST /kibana/faults           a Fault to schedule, or {"clear": true}
//	POST /kibana/release         {"hold": name}: open a gate of Hold faults ({"all": true}: every gate)
//	POST /kibana/latency          {"kind": "POST items" | "*", "ms": 50}; ms 0 removes it
//	POST /kibana/privileges       a Privileges value (replaces the current one)
//	GET  /kibana/counters         Counters, plus "writes"
//	POST /kibana/counters/reset   zero the counters
//	GET  /kibana/log              the request log
//
// Errors are {"error": "..."} with status 400 or 404.
func (s *Server) Control() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /kibana/items", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Items())
	})
	mux.HandleFunc("POST /kibana/items/edit", func(w http.ResponseWriter, r *http.Request) {
		var req EditRequest
		if !decodeControl(w, r, &req) {
			return
		}
		it, err := s.EditItem(req)
		controlAnswer(w, it, err)
	})
	mux.HandleFunc("POST /kibana/items/delete", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     string `json:"id"`
			ItemID string `json:"item_id"`
		}
		if !decodeControl(w, r, &req) {
			return
		}
		it, err := s.DeleteItem(req.ID, req.ItemID)
		controlAnswer(w, it, err)
	})
	mux.HandleFunc("GET /kibana/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Faults())
	})
	mux.HandleFunc("POST /kibana/faults", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Fault
			Clear bool `json:"clear"`
		}
		if !decodeControl(w, r, &req) {
			return
		}
		if req.Clear {
			s.ClearFaults()
			writeJSON(w, 200, s.Faults())
			return
		}
		if err := s.AddFault(req.Fault); err != nil {
			writeJSON(w, 400, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, 200, s.Faults())
	})
	mux.HandleFunc("POST /kibana/release", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Hold string `json:"hold"`
			All  bool   `json:"all"`
		}
		if !decodeControl(w, r, &req) {
			return
		}
		switch {
		case req.All:
			s.ReleaseAll()
		case req.Hold != "":
			s.Release(req.Hold)
		default:
			writeJSON(w, 400, map[string]string{"error": `release: need "hold" (a gate name) or "all": true`})
			return
		}
		writeJSON(w, 200, map[string]any{"released": req.Hold, "all": req.All})
	})
	mux.HandleFunc("POST /kibana/latency", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Kind string `json:"kind"`
			MS   int    `json:"ms"`
		}
		if !decodeControl(w, r, &req) {
			return
		}
		if req.Kind == "" || req.MS < 0 {
			writeJSON(w, 400, map[string]string{"error": `latency: need "kind" (a request kind or "*") and "ms" >= 0`})
			return
		}
		s.SetLatency(req.Kind, time.Duration(req.MS)*time.Millisecond)
		writeJSON(w, 200, map[string]any{"kind": req.Kind, "ms": req.MS})
	})
	mux.HandleFunc("POST /kibana/privileges", func(w http.ResponseWriter, r *http.Request) {
		var p Privileges
		if !decodeControl(w, r, &p) {
			return
		}
		s.SetPrivileges(p)
		writeJSON(w, 200, p)
	})
	mux.HandleFunc("GET /kibana/counters", func(w http.ResponseWriter, r *http.Request) {
		c := s.Counters()
		writeJSON(w, 200, map[string]any{"by_kind": c, "writes": c.Writes()})
	})
	mux.HandleFunc("POST /kibana/counters/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetCounters()
		writeJSON(w, 200, map[string]any{"by_kind": Counters{}, "writes": 0})
	})
	mux.HandleFunc("GET /kibana/log", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Log())
	})
	return mux
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxPayloadBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, 400, map[string]string{"error": "bad control request: " + err.Error()})
		return false
	}
	return true
}

func controlAnswer(w http.ResponseWriter, it Item, err error) {
	if err != nil {
		writeJSON(w, 404, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, 200, it)
}

// EditRequest changes a stored item the way another Kibana user would
// (drift). The item is found by ID, else by ItemID (agnostic namespace
// first). Nil fields are left alone; no blocklist validation runs.
type EditRequest struct {
	ID           string    `json:"id,omitempty"`
	ItemID       string    `json:"item_id,omitempty"`
	Name         *string   `json:"name,omitempty"`
	Description  *string   `json:"description,omitempty"`
	Tags         *[]string `json:"tags,omitempty"`
	OSTypes      *[]string `json:"os_types,omitempty"`
	Entries      *[]Entry  `json:"entries,omitempty"`
	AddValues    []string  `json:"add_values,omitempty"`    // appended to the first entry
	RemoveValues []string  `json:"remove_values,omitempty"` // removed from every entry
	User         string    `json:"user,omitempty"`          // updated_by; default "someone-else"
}

// EditItem applies req and bumps the item's _version.
func (s *Server) EditItem(req EditRequest) (Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findAnyLocked(req.ID, req.ItemID)
	if rec == nil {
		return Item{}, fmt.Errorf("no item with id %q / item_id %q", req.ID, req.ItemID)
	}
	it := &rec.item
	if req.Name != nil {
		it.Name = *req.Name
	}
	if req.Description != nil {
		it.Description = *req.Description
	}
	if req.Tags != nil {
		it.Tags = slices.Clone(*req.Tags)
	}
	if req.OSTypes != nil {
		it.OSTypes = slices.Clone(*req.OSTypes)
	}
	if req.Entries != nil {
		it.Entries = cloneEntries(*req.Entries)
	}
	if len(req.AddValues) > 0 {
		if len(it.Entries) == 0 {
			return Item{}, fmt.Errorf("item %q has no entry to add values to", it.ItemID)
		}
		it.Entries[0].Value = append(it.Entries[0].Value, req.AddValues...)
	}
	if len(req.RemoveValues) > 0 {
		for i := range it.Entries {
			it.Entries[i].Value = slices.DeleteFunc(it.Entries[i].Value, func(v string) bool {
				return slices.Contains(req.RemoveValues, v)
			})
		}
	}
	it.UpdatedBy = req.User
	if it.UpdatedBy == "" {
		it.UpdatedBy = "someone-else"
	}
	s.bumpLocked(rec)
	return it.clone(), nil
}

// DeleteItem removes an item behind the client's back and returns it.
func (s *Server) DeleteItem(id, itemID string) (Item, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.findAnyLocked(id, itemID)
	if rec == nil {
		return Item{}, fmt.Errorf("no item with id %q / item_id %q", id, itemID)
	}
	out := rec.item.clone()
	s.removeLocked(rec)
	return out, nil
}

// findAnyLocked finds by id, else by item_id in the agnostic namespace,
// else in any namespace. Caller holds s.mu.
func (s *Server) findAnyLocked(id, itemID string) *record {
	if id != "" {
		return s.items[id]
	}
	if itemID == "" {
		return nil
	}
	if rec := s.lookupItem(nsAgnostic, "", itemID); rec != nil {
		return rec
	}
	for _, rec := range s.items {
		if rec.item.ItemID == itemID {
			return rec
		}
	}
	return nil
}
