package plan

import "testing"

func TestReasonsCapped(t *testing.T) {
	var none Reasons
	if got := none.List("x"); got != nil {
		t.Fatalf("no reason: got %q, want nil", got)
	}
	var rs Reasons
	for i := range 25 {
		rs.Add("reason %d", i)
	}
	got := rs.List("change(s)")
	if len(got) != 21 || got[0] != "reason 0" || got[19] != "reason 19" || got[20] != "and 5 more change(s)" {
		t.Fatalf("25 reasons: got %d lines, %q", len(got), got)
	}
}
