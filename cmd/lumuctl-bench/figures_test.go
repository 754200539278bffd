package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
)

func TestPerHash(t *testing.T) {
	tests := []struct {
		name             string
		removed, added   int
		latency          time.Duration
		parallelism      int
		wantWrites       int
		wantApplyTimeSec float64
	}{
		{"initial 100k p1", 0, 100_000, time.Second, 1, 100_000, 100_000},
		{"initial 100k p8", 0, 100_000, time.Second, 8, 100_000, 12_500},
		{"churn 1% p4 rounds up", 1000, 1001, time.Second, 4, 2001, 501},
		{"parallelism 0 counts as 1", 3, 0, time.Second, 0, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := perHashWrites(tt.removed, tt.added)
			if w != tt.wantWrites {
				t.Errorf("perHashWrites = %d, want %d", w, tt.wantWrites)
			}
			if got := perHashApplyTime(w, tt.latency, tt.parallelism).Seconds(); got != tt.wantApplyTimeSec {
				t.Errorf("perHashApplyTime = %v s, want %v s", got, tt.wantApplyTimeSec)
			}
		})
	}
}

func TestLumuMinimum(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	inc := func(status string, age time.Duration, active bool, types ...string) *lumusim.Incident {
		return &lumusim.Incident{Status: status, LastContact: now.Add(-age), CurrentlyActive: active, AdversaryTypes: types}
	}
	many := func(n int, in *lumusim.Incident) []*lumusim.Incident {
		out := make([]*lumusim.Incident, n)
		for i := range out {
			c := *in
			out[i] = &c
		}
		return out
	}
	three := []lumusim.HashType{lumusim.SHA256, lumusim.SHA1, lumusim.MD5}
	filter := lumuFilter{HashTypes: three, AdversaryTypes: []string{"Malware", "C2C"}, Statuses: []string{"open"}, Days: 30, OnlyActive: true}
	day := 24 * time.Hour
	tests := []struct {
		name         string
		incidents    []*lumusim.Incident
		f            lumuFilter
		wantPages    int
		wantContexts int
	}{
		{"nothing listed is still one page", nil, filter, 1, 0},
		{"active kept incident: one context per type", []*lumusim.Incident{inc("open", day, true, "Malware")}, filter, 1, 3},
		{"inactive with only_active: one context", []*lumusim.Incident{inc("open", day, false, "C2C")}, filter, 1, 1},
		{"inactive without only_active: every type", []*lumusim.Incident{inc("open", day, false, "C2C")},
			lumuFilter{HashTypes: three, AdversaryTypes: filter.AdversaryTypes, Statuses: filter.Statuses, Days: 30}, 1, 3},
		{"filtered out: status, muted, window, type", []*lumusim.Incident{
			inc("closed", day, true, "Malware"), inc("muted", day, true, "Malware"),
			inc("open", 31*day, true, "Malware"), inc("open", day, true, "Spam"),
			inc("open", -time.Hour, true, "Malware"), // in the future
		}, filter, 1, 0},
		{"a second type matches", []*lumusim.Incident{inc("open", day, true, "Spam", "C2C")}, filter, 1, 3},
		{"100 kept: one page", many(100, inc("open", day, true, "Malware")), filter, 1, 300},
		{"101 kept: two pages", many(101, inc("open", day, true, "Malware")), filter, 2, 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages, contexts := lumuMinimum(tt.incidents, tt.f, now)
			if pages != tt.wantPages || contexts != tt.wantContexts {
				t.Errorf("lumuMinimum = %d pages, %d contexts; want %d, %d", pages, contexts, tt.wantPages, tt.wantContexts)
			}
		})
	}
}

func TestLowerBound(t *testing.T) {
	g := group{Namespace: "bench", Blocklist: "bench", OS: "windows", Type: provider.SHA256, Max: 3}
	h := func(c string) string { return strings.Repeat(c, 64) }
	item := func(id string, values ...string) kibanasim.Item {
		return kibanasim.Item{ListID: kibanasim.BlocklistListID, ItemID: id, Entries: []kibanasim.Entry{
			{Field: "file.hash.sha256", Type: "match_any", Operator: "included", Value: values},
		}}
	}
	items := []kibanasim.Item{
		item("lumuctl-bench-bench-windows-sha256-0001", h("a"), h("b"), h("c")),
		item("lumuctl-bench-bench-windows-sha256-0002", h("d"), h("e"), h("f")),
		item("lumuctl-bench-bench-linux-sha256-0001", h("1")),           // another group
		item("lumuctl-other-bench-windows-sha256-0001", h("2")),         // another namespace
		item("someone-elses-item", h("3")),                              // unowned
		{ListID: "other_list", ItemID: "lumuctl-bench-bench-windows-x"}, // another list
	}
	tests := []struct {
		name    string
		desired []string
		want    int
	}{
		{"no change", []string{h("a"), h("b"), h("c"), h("d"), h("e"), h("f")}, 0},
		// item 1, the oldest, loses c (touched); item 2, the newest, is
		// full and untouched: adds 9, 7 need one more item (arrival order
		// puts additions after the newest item, not into older ones).
		{"one removal, two adds", []string{h("a"), h("b"), h("d"), h("e"), h("f"), h("9"), h("7")}, 2},
		{"one removal, one add", []string{h("a"), h("b"), h("d"), h("e"), h("f"), h("9")}, 2},
		// the newest item loses f: it is the tail run, and takes the add.
		{"removal from the newest item, one add", []string{h("a"), h("b"), h("c"), h("d"), h("e"), h("9")}, 1},
		{"four adds, no removal", []string{h("a"), h("b"), h("c"), h("d"), h("e"), h("f"), h("4"), h("5"), h("6"), h("7")}, 2},
		{"everything removed", nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lowerBound(g, items, tt.desired)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("lowerBound = %d, want %d", got, tt.want)
			}
		})
	}
	values, n, err := groupValues(g, items)
	if err != nil || values != 6 || n != 2 {
		t.Errorf("groupValues = %d values in %d items, %v; want 6 in 2", values, n, err)
	}
	bad := append(items, item("lumuctl-bench-bench-windows-sha256-x"))
	if _, err := lowerBound(g, bad, nil); err == nil || !strings.Contains(err.Error(), "lumuctl-bench-bench-windows-sha256-x") {
		t.Errorf("owned item with a bad id: err = %v, want one naming the item", err)
	}
}

// TestConfigTemplate checks that the configurations the benchmarks write
// load without any diagnostic.
func TestConfigTemplate(t *testing.T) {
	tests := []struct {
		name string
		p    configParams
	}{
		{"churn", churnConfig(options{maxValues: 1000})},
		{"large", configParams{HashTypes: []string{"sha256", "sha1", "md5"}, AdversaryTypes: lumusim.AdversaryTypes,
			Statuses: []string{"open", "closed"}, Days: 30, OnlyActive: true, OSTypes: []string{"windows", "macos", "linux"}, MaxValues: 1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := configTemplate.Execute(&buf, tt.p); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Offline: true})
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %v\n%s", diags, buf.String())
			}
			var got []string
			for name := range cfg.Blocklists {
				got = append(got, name)
			}
			if diff := cmp.Diff([]string{benchBlocklist}, got); diff != "" {
				t.Errorf("blocklists (-want +got):\n%s", diff)
			}
		})
	}
}
