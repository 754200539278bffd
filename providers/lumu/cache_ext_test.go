package lumu

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// memCache is a provider.Cache in memory, standing in for the PostgreSQL
// backend's (engine/state/pgstore runs the same checks against a server).
type memCache struct {
	mu     sync.Mutex
	recs   map[string]map[string][]byte
	quota  map[string][2]any
	closed int
}

func (m *memCache) Load(group string, ids []string) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string][]byte{}
	for _, id := range ids {
		if v, ok := m.recs[group][id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

func (m *memCache) Store(group string, recs map[string][]byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs == nil {
		m.recs = map[string]map[string][]byte{}
	}
	if m.recs[group] == nil {
		m.recs[group] = map[string][]byte{}
	}
	for k, v := range recs {
		m.recs[group][k] = v
	}
	return nil
}

func (m *memCache) QuotaUsed(key, day string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.quota[key]; ok && r[0] == day {
		return r[1].(int), nil
	}
	return 0, nil
}

func (m *memCache) SetQuotaUsed(key, day string, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.quota == nil {
		m.quota = map[string][2]any{}
	}
	m.quota[key] = [2]any{day, n}
	return nil
}

func (m *memCache) Close() error { m.closed++; return nil }

// An external cache (SourceOptions.Cache) replaces the file: a second
// source sharing it reads no context, a change costs its reads again, and
// the daily quota counters live there too.
func TestExternalCache(t *testing.T) {
	const n, types = 10, 2
	w := newCacheWorld(t, n)
	ext := &memCache{}
	run := func() (provider.FetchResponse, int) {
		t.Helper()
		before := w.f.count("context")
		s, diags := NewSource(provider.SourceOptions{CachePath: w.path, Cache: ext},
			WithHTTPClient(w.srv.Client()), WithClock(w.clk.Now), WithSleep(w.clk.Sleep), WithJitter(func() float64 { return 0 }))
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		resp := s.Fetch(context.Background(), w.req)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if resp.Err != nil {
			t.Fatal(resp.Err)
		}
		return resp, w.f.count("context") - before
	}
	if _, calls := run(); calls != n*types {
		t.Fatalf("cold: %d context calls, want %d", calls, n*types)
	}
	if warm, calls := run(); calls != 0 || warm.Stats.ContextCached != n*types {
		t.Fatalf("second source: %d calls, stats %+v; want 0 calls", calls, warm.Stats)
	}
	w.change(4, "contacts", 11)
	if _, calls := run(); calls != types {
		t.Errorf("after one change: %d calls, want %d", calls, types)
	}
	if _, err := os.Stat(w.path); err == nil {
		t.Errorf("the cache file %s was created beside the external cache", w.path)
	}
	if ext.closed != 3 {
		t.Errorf("cache closed %d times, want once per source (3)", ext.closed)
	}
	used, err := ext.QuotaUsed(quotaKey(testKey), w.clk.Now().UTC().Format(time.DateOnly))
	if err != nil || used < n*types+types {
		t.Errorf("quota in the external cache = %d, %v; want at least the %d requests made", used, err, n*types+types)
	}
	for _, recs := range ext.recs {
		for id, v := range recs {
			if string(v) == "" || id == "" {
				t.Errorf("empty record %q", id)
			}
		}
	}
}

// CopyCache moves a cache file's records and counters into an external
// cache: a source on the external cache then reads no context.
func TestCopyCache(t *testing.T) {
	const n, types = 5, 2
	w := newCacheWorld(t, n)
	if _, calls := w.run(); calls != n*types {
		t.Fatalf("cold: %d calls", calls)
	}
	ext := &memCache{}
	got, err := CopyCache(w.path, ext)
	if err != nil || got != n {
		t.Fatalf("CopyCache = %d, %v; want %d records", got, err, n)
	}
	if len(ext.quota) != 1 {
		t.Errorf("quota counters copied: %v", ext.quota)
	}
	before := w.f.count("context")
	s, diags := NewSource(provider.SourceOptions{Cache: ext},
		WithHTTPClient(w.srv.Client()), WithClock(w.clk.Now), WithSleep(w.clk.Sleep), WithJitter(func() float64 { return 0 }))
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	defer s.Close()
	if resp := s.Fetch(context.Background(), w.req); resp.Err != nil {
		t.Fatal(resp.Err)
	}
	if calls := w.f.count("context") - before; calls != 0 {
		t.Errorf("after CopyCache: %d context calls, want 0", calls)
	}
	if got, err := CopyCache(w.path+".missing", ext); err != nil || got != 0 {
		t.Errorf("CopyCache of a missing file = %d, %v", got, err)
	}
}
