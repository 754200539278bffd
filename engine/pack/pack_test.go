package pack

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// hx is the md5-length hash number n, so tables can speak in small numbers.
func hx(n int) string { return fmt.Sprintf("%032x", n) }

// hxs returns hx of each n.
func hxs(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = hx(n)
	}
	return out
}

// span returns hx(from..to).
func span(from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, hx(n))
	}
	return out
}

func cat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// testID is the item id the tests use for seq.
func testID(seq int) string { return fmt.Sprintf("it-%04d", seq) }

func newID(seq int) (string, error) { return testID(seq), nil }

// ex is an existing item with id testID(seq).
func ex(seq int, values ...string) Existing {
	return Existing{ID: testID(seq), Seq: seq, Values: values}
}

// short renders a value: hx numbers back as decimal, others quoted.
func short(v string) string {
	if len(v) == 32 && v == strings.ToLower(v) {
		if n, err := strconv.ParseUint(v, 16, 64); err == nil {
			return strconv.FormatUint(n, 10)
		}
	}
	return strconv.Quote(v)
}

func shorts(vs []string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = short(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// summary renders one result item on one line for table comparisons.
func summary(it Item) string {
	s := fmt.Sprintf("%04d %s %s", it.Seq, it.Action, shorts(it.Values))
	if it.ID != testID(it.Seq) {
		s += " id=" + it.ID
	}
	if it.Causes != 0 {
		s += " why=" + it.Causes.String()
	}
	if len(it.Added) > 0 {
		s += " +" + shorts(it.Added)
	}
	if len(it.Removed) > 0 {
		s += " -" + shorts(it.Removed)
	}
	if len(it.Displaced) > 0 {
		s += " >" + shorts(it.Displaced)
	}
	if len(it.Moved) > 0 {
		s += " <" + shorts(it.Moved)
	}
	if len(it.Normalized) > 0 {
		s += " ~" + shorts(it.Normalized)
	}
	if it.Duplicates > 0 {
		s += fmt.Sprintf(" dup=%d", it.Duplicates)
	}
	return s
}

func summaries(r *Result) []string {
	var out []string
	for _, it := range r.Items {
		out = append(out, summary(it))
	}
	return out
}

func TestPackRules(t *testing.T) {
	layout := []Existing{ex(1, span(1, 4)...), ex(2, span(5, 8)...), ex(3, hxs(9, 10)...)}
	tests := []struct {
		name      string
		max       int
		existing  []Existing
		desired   []string
		want      []string
		writes    int
		bound     int
		blocked   []string
		unblocked []string
	}{
		{
			name: "initial sync: full items except the last", max: 4,
			desired: span(1, 10),
			want: []string{
				"0001 create [1 2 3 4] +[1 2 3 4]",
				"0002 create [5 6 7 8] +[5 6 7 8]",
				"0003 create [9 10] +[9 10]",
			},
			writes: 3, bound: 3, blocked: span(1, 10),
		},
		{
			name: "initial sync of an exact multiple", max: 5,
			desired: span(1, 10),
			want: []string{
				"0001 create [1 2 3 4 5] +[1 2 3 4 5]",
				"0002 create [6 7 8 9 10] +[6 7 8 9 10]",
			},
			writes: 2, bound: 2, blocked: span(1, 10),
		},
		{
			name: "no change", max: 4, existing: layout, desired: span(1, 10),
			want:   []string{"0001 no-op [1 2 3 4]", "0002 no-op [5 6 7 8]", "0003 no-op [9 10]"},
			writes: 0, bound: 0,
		},
		{
			name: "removal rewrites only the items holding the hashes, and merges them", max: 4, existing: layout,
			desired: cat(span(1, 5), hxs(7, 8, 10)),
			want: []string{
				"0001 no-op [1 2 3 4]",
				"0002 update [5 7 8 10] why=removed +[10] -[6]",
				"0003 delete [] why=removed -[9] <[10]",
			},
			writes: 2, bound: 2, unblocked: hxs(6, 9),
		},
		{
			name: "adds go to the newest item, not into older touched ones", max: 4, existing: layout,
			desired: cat(span(1, 5), span(7, 12)),
			want: []string{
				"0001 no-op [1 2 3 4]",
				"0002 update [5 7 8] why=removed -[6]",
				"0003 update [9 10 11 12] +[11 12]",
			},
			writes: 2, bound: 2, blocked: hxs(11, 12), unblocked: hxs(6),
		},
		{
			name: "adds beyond the newest item's room create items after it", max: 4, existing: layout,
			desired: cat(span(1, 5), span(7, 10), span(11, 16)),
			want: []string{
				"0001 no-op [1 2 3 4]",
				"0002 update [5 7 8] why=removed -[6]",
				"0003 update [9 10 11 12] +[11 12]",
				"0004 create [13 14 15 16] +[13 14 15 16]",
			},
			writes: 3, bound: 3, blocked: span(11, 16), unblocked: hxs(6),
		},
		{
			name: "small add goes into the one item with room", max: 4, existing: layout,
			desired: span(1, 11),
			want:    []string{"0001 no-op [1 2 3 4]", "0002 no-op [5 6 7 8]", "0003 update [9 10 11] +[11]"},
			writes:  1, bound: 1, blocked: hxs(11),
		},
		{
			name: "filling the untouched newest item may cost one write over the bound", max: 4,
			existing: []Existing{ex(1, hxs(1)...), ex(2, hxs(2, 3)...), ex(3, hxs(4, 5, 6)...)},
			desired:  span(1, 8),
			want:     []string{"0001 no-op [1]", "0002 no-op [2 3]", "0003 update [4 5 6 7] +[7]", "0004 create [8] +[8]"},
			writes:   2, bound: 1, blocked: hxs(7, 8),
		},
		{
			name: "older items with room take no adds", max: 4,
			existing: []Existing{ex(1, hxs(1, 2)...), ex(2, hxs(3, 4)...)},
			desired:  span(1, 7),
			want:     []string{"0001 no-op [1 2]", "0002 update [3 4 5 6] +[5 6]", "0003 create [7] +[7]"},
			writes:   2, bound: 1, blocked: span(5, 7),
		},
		{
			name: "the newest item is filled first, then new items", max: 4,
			existing: []Existing{ex(1, hxs(1, 2, 3)...)},
			desired:  span(1, 8),
			want:     []string{"0001 update [1 2 3 4] +[4]", "0002 create [5 6 7 8] +[5 6 7 8]"},
			writes:   2, bound: 2, blocked: span(4, 8),
		},
		{
			name: "emptied item is reused for adds", max: 4,
			existing: []Existing{ex(1, span(1, 4)...), ex(2, hxs(5, 6)...)},
			desired:  cat(span(1, 4), hxs(7, 8)),
			want:     []string{"0001 no-op [1 2 3 4]", "0002 update [7 8] why=removed +[7 8] -[5 6]"},
			writes:   1, bound: 1, blocked: hxs(7, 8), unblocked: hxs(5, 6),
		},
		{
			name: "emptied item with no adds is deleted", max: 4,
			existing: []Existing{ex(1, span(1, 4)...), ex(2, hxs(5, 6)...)},
			desired:  span(1, 4),
			want:     []string{"0001 no-op [1 2 3 4]", "0002 delete [] why=removed -[5 6]"},
			writes:   1, bound: 1, unblocked: hxs(5, 6),
		},
		{
			name: "adds prefer a touched item that keeps values over an emptied one", max: 4,
			existing: []Existing{ex(1, span(1, 4)...), ex(2, hxs(5, 6)...)},
			desired:  cat(span(1, 3), hxs(7)),
			want: []string{
				"0001 update [1 2 3 7] why=removed +[7] -[4]",
				"0002 delete [] why=removed -[5 6]",
			},
			writes: 2, bound: 2, blocked: hxs(7), unblocked: span(4, 6),
		},
		{
			name: "empty desired set deletes everything", max: 4, existing: layout,
			want: []string{
				"0001 delete [] why=removed -[1 2 3 4]",
				"0002 delete [] why=removed -[5 6 7 8]",
				"0003 delete [] why=removed -[9 10]",
			},
			writes: 3, bound: 3, unblocked: span(1, 10),
		},
		{
			name: "nothing at all", max: 4,
		},
		{
			name: "duplicates within and across items", max: 4,
			existing: []Existing{ex(1, hxs(1, 2, 2)...), ex(2, hxs(2, 3)...)},
			desired:  span(1, 3),
			want: []string{
				"0001 update [1 2 3] why=duplicate +[3] dup=1",
				"0002 delete [] why=displaced >[2] <[3]",
			},
			writes: 2, bound: 2,
		},
		{
			name: "the first item by seq keeps a shared hash, whatever the input order", max: 4,
			existing: []Existing{ex(5, hxs(3, 4)...), ex(2, hxs(1, 3)...)},
			desired:  hxs(1, 3, 4),
			want:     []string{"0002 no-op [1 3]", "0005 update [4] why=displaced >[3]"},
			writes:   1, bound: 1,
		},
		{
			name: "upper case and foreign values are drift", max: 5,
			existing: []Existing{ex(1, strings.ToUpper(hx(10)), "foo", hx(2), " "+hx(3), strings.ToUpper(hx(11)))},
			desired:  hxs(2, 3, 10),
			want: []string{
				`0001 update [2 3 10] why=removed,non_canonical -["0000000000000000000000000000000B" "foo"] ~[" 00000000000000000000000000000003" "0000000000000000000000000000000A"]`,
			},
			writes: 1, bound: 1, unblocked: []string{hx(11), "foo"},
		},
		{
			name: "two spellings of one hash in one item", max: 4,
			existing: []Existing{ex(1, hx(1), strings.ToUpper(hx(10)), hx(10))},
			desired:  hxs(1, 10),
			want:     []string{`0001 update [1 10] why=non_canonical ~["0000000000000000000000000000000A"]`},
			writes:   1, bound: 1,
		},
		{
			name: "forced rewrite", max: 4,
			existing: []Existing{{ID: testID(1), Seq: 1, Values: hxs(1, 2), ForceRewrite: true}, ex(2, hxs(3)...)},
			desired:  span(1, 4),
			want:     []string{"0001 update [1 2] why=forced", "0002 update [3 4] +[4]"},
			writes:   2, bound: 2, blocked: hxs(4),
		},
		{
			name: "item over max is split", max: 4,
			existing: []Existing{ex(1, span(1, 6)...)},
			desired:  span(1, 6),
			want: []string{
				"0001 update [1 2 3 4] why=displaced,over_max >[5 6]",
				"0002 create [5 6] +[5 6]",
			},
			writes: 2, bound: 2,
		},
		{
			name: "overflow of an item over max lands in an item with room", max: 4,
			existing: []Existing{ex(1, span(1, 6)...), ex(2, hxs(7)...)},
			desired:  span(1, 7),
			want: []string{
				"0001 update [1 2 3 4] why=displaced,over_max >[5 6]",
				"0002 update [5 6 7] +[5 6]",
			},
			writes: 2, bound: 2,
		},
		{
			name: "overflow already held by a later item stays there", max: 2,
			existing: []Existing{ex(1, span(1, 3)...), ex(2, hxs(3)...)},
			desired:  span(1, 3),
			want:     []string{"0001 update [1 2] why=displaced,over_max >[3]", "0002 no-op [3]"},
			writes:   1, bound: 1,
		},
		{
			name: "item with no values", max: 4,
			existing: []Existing{ex(1), ex(2, hxs(1)...)},
			desired:  hxs(1),
			want:     []string{"0001 delete [] why=empty", "0002 no-op [1]"},
			writes:   1, bound: 1,
		},
		{
			name: "new items take the seqs after the newest", max: 2,
			existing: []Existing{ex(2, hxs(1, 2)...), ex(4, hxs(3, 4)...)},
			desired:  span(1, 9),
			want: []string{
				"0002 no-op [1 2]",
				"0004 no-op [3 4]",
				"0005 create [5 6] +[5 6]",
				"0006 create [7 8] +[7 8]",
				"0007 create [9] +[9]",
			},
			writes: 3, bound: 3, blocked: span(5, 9),
		},
		{
			name: "an emptied old item is deleted, not refilled with new hashes", max: 2,
			existing: []Existing{ex(1, hxs(1)...), ex(2, hxs(2)...)},
			desired:  hxs(2, 3, 4),
			want: []string{
				"0001 delete [] why=removed -[1]",
				"0002 update [2 3] +[3]",
				"0003 create [4] +[4]",
			},
			writes: 3, bound: 2, blocked: hxs(3, 4), unblocked: hxs(1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Type: provider.MD5, Max: tt.max, Existing: tt.existing, Desired: tt.desired, NewID: newID}
			res, err := Pack(in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, summaries(res)); diff != "" {
				t.Errorf("items mismatch (-want +got):\n%s", diff)
			}
			if got := Writes(res); got != tt.writes {
				t.Errorf("Writes = %d, want %d", got, tt.writes)
			}
			if res.LowerBound != tt.bound {
				t.Errorf("LowerBound = %d, want %d", res.LowerBound, tt.bound)
			}
			if lb, err := LowerBound(in); err != nil || lb != tt.bound {
				t.Errorf("LowerBound() = %d, %v; want %d", lb, err, tt.bound)
			}
			if diff := cmp.Diff(tt.blocked, res.Blocked); diff != "" {
				t.Errorf("Blocked mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.unblocked, res.Unblocked); diff != "" {
				t.Errorf("Unblocked mismatch (-want +got):\n%s", diff)
			}
			// Stability: packing the outcome again writes nothing.
			again, err := Pack(Input{Type: provider.MD5, Max: tt.max, Existing: asExisting(res), Desired: tt.desired, NewID: newID})
			if err != nil {
				t.Fatal(err)
			}
			if w := Writes(again); w != 0 {
				t.Errorf("second pack writes %d items, want 0:\n%s", w, strings.Join(summaries(again), "\n"))
			}
		})
	}
}

// asExisting turns a result into the items Kibana would hold after apply.
func asExisting(r *Result) []Existing {
	var out []Existing
	for _, it := range r.Items {
		if it.Action != provider.Delete {
			out = append(out, Existing{ID: it.ID, Seq: it.Seq, Values: append([]string(nil), it.Values...)})
		}
	}
	return out
}

func TestPackErrors(t *testing.T) {
	valid := func() Input {
		return Input{Type: provider.MD5, Max: 1, Existing: []Existing{ex(1, hxs(1)...)}, Desired: hxs(1, 2), NewID: newID}
	}
	full := make([]Existing, MaxSeq)
	for i := range full {
		full[i] = ex(i+1, hx(i+1))
	}
	tests := []struct {
		name    string
		edit    func(*Input)
		wantErr string
	}{
		{"bad type", func(in *Input) { in.Type = "crc32" }, `pack: invalid hash type "crc32"`},
		{"max zero", func(in *Input) { in.Max = 0 }, "pack: max values per item 0 out of range 1..2000"},
		{"max too big", func(in *Input) { in.Max = 2001 }, "pack: max values per item 2001 out of range 1..2000"},
		{"upper-case desired", func(in *Input) { in.Desired = []string{strings.ToUpper(hx(10))} },
			`pack: desired md5 hash "0000000000000000000000000000000A" is not lowercase hex`},
		{"short desired", func(in *Input) { in.Desired = []string{"abc"} },
			`pack: desired md5 hash "abc" has 3 characters, want 32`},
		{"sha1 in an md5 group", func(in *Input) { in.Desired = []string{strings.Repeat("a", 40)} },
			"has 40 characters, want 32"},
		{"desired twice", func(in *Input) { in.Desired = hxs(3, 3) },
			"pack: desired hash 00000000000000000000000000000003 listed twice"},
		{"no id", func(in *Input) { in.Existing[0].ID = "" }, "pack: existing item with seq 1 has no id"},
		{"id twice", func(in *Input) { in.Existing = append(in.Existing, Existing{ID: testID(1), Seq: 2}) },
			"pack: existing item it-0001 listed twice"},
		{"seq twice", func(in *Input) { in.Existing = append(in.Existing, Existing{ID: "other", Seq: 1}) },
			"pack: existing items it-0001 and other share seq 1"},
		{"seq zero", func(in *Input) { in.Existing[0].Seq = 0 }, "pack: existing item it-0001: seq 0 out of range 1..9999"},
		{"no allocator", func(in *Input) { in.NewID = nil }, "pack: new items are needed but Input.NewID is nil"},
		{"allocator fails", func(in *Input) {
			in.NewID = func(int) (string, error) { return "", errors.New("boom") }
		}, "pack: new item 2: boom"},
		{"group full", func(in *Input) {
			in.Max = 1
			in.Existing = full
			in.Desired = span(1, MaxSeq+1)
		}, "pack: the group needs more than 9999 items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			tt.edit(&in)
			res, err := Pack(in)
			if err == nil || err.Error() != tt.wantErr && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Pack error = %v, want %q", err, tt.wantErr)
			}
			if res != nil {
				t.Errorf("Pack returned a result with its error")
			}
		})
	}
	// No allocator is fine when nothing is created.
	in := valid()
	in.NewID = nil
	in.Desired = hxs(1)
	if _, err := Pack(in); err != nil {
		t.Errorf("Pack without allocator and without creates: %v", err)
	}
}

func TestPackGroup(t *testing.T) {
	g := Group{Namespace: "ns", Blocklist: "prod", OS: "windows", Type: provider.MD5}
	id := func(seq int) string { s, _ := g.ID(seq); return s }
	res, err := PackGroup(g, 2, []Existing{{ID: id(2), Values: hxs(1, 2)}}, span(1, 4), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0002 no-op [1 2] id=lumuctl-ns-prod-windows-md5-0002",
		"0003 create [3 4] id=lumuctl-ns-prod-windows-md5-0003 +[3 4]",
	}
	if diff := cmp.Diff(want, summaries(res)); diff != "" {
		t.Errorf("items mismatch (-want +got):\n%s", diff)
	}

	errs := []struct {
		name     string
		g        Group
		existing []Existing
		desired  []string
		wantErr  string
	}{
		{"bad group", Group{Namespace: "ns", Blocklist: "Prod", OS: "windows", Type: provider.MD5}, nil, nil,
			`pack: group Prod/windows/md5: invalid blocklist label "Prod"`},
		{"foreign id", g, []Existing{{ID: "lumuctl-ns-other-windows-md5-0001"}}, nil,
			`pack: group prod/windows/md5: item_id "lumuctl-ns-other-windows-md5-0001" is not an item id under "lumuctl-ns-prod-"`},
		{"other os", g, []Existing{{ID: "lumuctl-ns-prod-linux-md5-0001"}}, nil,
			"pack: group prod/windows/md5: item lumuctl-ns-prod-linux-md5-0001 belongs to group prod/linux/md5"},
		{"other type", g, []Existing{{ID: "lumuctl-ns-prod-windows-sha1-0001"}}, nil,
			"belongs to group prod/windows/sha1"},
		{"seq disagrees", g, []Existing{{ID: id(3), Seq: 4}}, nil,
			"pack: group prod/windows/md5: item lumuctl-ns-prod-windows-md5-0003 given seq 4, its id says 3"},
		{"bad desired", g, nil, []string{"xyz"},
			`pack: group prod/windows/md5: desired md5 hash "xyz" has 3 characters, want 32`},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PackGroup(tt.g, 4, tt.existing, tt.desired, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("PackGroup error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCauseStrings(t *testing.T) {
	got := []string{Cause(0).String(), (CauseForced | CauseEmpty).String()}
	want := []string{"", "forced,empty"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("strings mismatch (-want +got):\n%s", diff)
	}
}
