package pack

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// slidingWindow simulates the everyday churn of SPEC section 8 at a tenth of
// its size: perDay hashes arrive every day and stay days days; with
// earlyClose, that fraction of each day's arrivals leaves the next day. It
// packs every day with the previous day's layout and returns the writes and
// the number of hashes removed and added per day, after the first window.
type windowDay struct{ writes, removed, added, items int }

func slidingWindow(t *testing.T, days, perDay, maxVals, simulate int, earlyClose float64) []windowDay {
	t.Helper()
	r := rand.New(rand.NewSource(7))
	arrived := map[string]int{} // hash → day of arrival
	next := 0
	var layout []Existing
	var out []windowDay
	closing := map[string]bool{}
	for day := 0; day < days+simulate; day++ {
		removed, added := 0, 0
		for h, d := range arrived {
			if d <= day-days || closing[h] {
				delete(arrived, h)
				delete(closing, h)
				removed++
			}
		}
		for range perDay {
			h := universe(next)
			next++
			arrived[h] = day
			added++
			if r.Float64() < earlyClose {
				closing[h] = true
			}
		}
		desired := make([]string, 0, len(arrived))
		for h := range arrived {
			desired = append(desired, h)
		}
		in := Input{Type: provider.MD5, Max: maxVals, Existing: layout, Desired: desired, NewID: newID,
			Rank: func(h string) int64 { return int64(arrived[h]) }}
		res, err := Pack(in)
		if err != nil {
			t.Fatal(err)
		}
		if bad := checkInvariants(in, res); len(bad) > 0 {
			t.Fatalf("day %d: %v", day, bad)
		}
		layout = asExisting(res)
		if day >= days {
			out = append(out, windowDay{Writes(res), removed, added, len(layout)})
		}
	}
	return out
}

// TestPackSlidingWindow checks SPEC section 8's realistic churn: once the
// window is full, each day writes at most ⌈removed/max⌉ + ⌈added/max⌉ + 2
// items, every day (against 100 for a sorted layout at full size).
func TestPackSlidingWindow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		earlyClose float64
		slack      int
	}{
		{"ageing only", 0, 2},
		{"20% close the next day", 0.2, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const days, perDay, maxVals = 30, 166, 50
			worst := 0
			for i, d := range slidingWindow(t, days, perDay, maxVals, 35, tc.earlyClose) {
				bound := ceilDiv(d.removed, maxVals) + ceilDiv(d.added, maxVals) + tc.slack
				if d.writes > bound {
					t.Errorf("day %d: %d writes (-%d +%d hashes), more than %d", days+i, d.writes, d.removed, d.added, bound)
				}
				worst = max(worst, d.writes)
				if d.items > days*perDay/maxVals*5/4+2 {
					t.Errorf("day %d: %d items for %d hashes: shrinking items are not merged", days+i, d.items, days*perDay)
				}
			}
			t.Logf("worst day: %d writes", worst)
		})
	}
}

// TestPackWrapsAroundMaxSeq: new items follow the newest seq, wrapping from
// MaxSeq to 1, and the oldest item is the one after the largest gap.
func TestPackWrapsAroundMaxSeq(t *testing.T) {
	existing := []Existing{ex(1, hxs(5, 6)...), ex(MaxSeq-1, hxs(1, 2)...), ex(MaxSeq, hxs(3, 4)...)}
	if got := fmt.Sprint(Order([]int{1, MaxSeq - 1, MaxSeq})); got != fmt.Sprint([]int{MaxSeq - 1, MaxSeq, 1}) {
		t.Errorf("Order = %s", got)
	}
	res, err := Pack(Input{Type: provider.MD5, Max: 2, Existing: existing, Desired: hxs(2, 3, 4, 5, 6, 7, 8, 9), NewID: newID})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"0001 no-op [5 6]",
		"0002 create [7 8] +[7 8]",
		"0003 create [9] +[9]",
		"9998 update [2] why=removed -[1]",
		"9999 no-op [3 4]",
	}
	if got := summaries(res); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}
