package cli

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/metrics"
)

func TestHealth(t *testing.T) {
	now := time.Unix(1700000000, 0)
	h := &health{interval: time.Minute, now: func() time.Time { return now }}
	get := func() (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
		return w.Code, w.Body.String()
	}
	check := func(step string, code int, body string) {
		t.Helper()
		gotCode, gotBody := get()
		if gotCode != code || !strings.Contains(gotBody, body) {
			t.Errorf("%s: %d %q, want %d containing %q", step, gotCode, gotBody, code, body)
		}
	}
	check("before any cycle", 503, "starting")
	h.record(now, metrics.OutcomeError, "boom")
	check("only failures", 503, "no cycle has succeeded yet (1 failed)")
	now = now.Add(time.Minute)
	h.record(now, metrics.OutcomeSuccess, "")
	check("a success", 200, "ok:")
	now = now.Add(time.Minute)
	h.record(now, metrics.OutcomeGuard, "Mass deletion refused")
	check("one failure after a success", 200, "last cycle (0s ago): guard: Mass deletion refused")
	now = now.Add(59 * time.Second)
	check("just under two intervals", 200, "ok:")
	now = now.Add(time.Second)
	check("two intervals without success", 503, "more than two intervals (2m0s)")
	h.record(now, metrics.OutcomeSuccess, "")
	check("recovered", 200, "ok:")
}

func TestOutcomeAndReason(t *testing.T) {
	for code, want := range map[int]string{0: "success", 1: "error", 3: "partial", 4: "error", 5: "locked", 6: "guard"} {
		if got := outcomeOf(code); got != want {
			t.Errorf("outcomeOf(%d) = %q, want %q", code, got, want)
		}
	}
	if got := failureReason(silentExit(6), "Mass deletion refused: ..."); got != "Mass deletion refused: ..." {
		t.Errorf("printed error: reason %q", got)
	}
	if got := failureReason(withCode(5, errors.New("locked by x")), "other"); got != "locked by x" {
		t.Errorf("error with text: reason %q", got)
	}
	if got := failureReason(nil, "x"); got != "" {
		t.Errorf("success: reason %q", got)
	}
}
