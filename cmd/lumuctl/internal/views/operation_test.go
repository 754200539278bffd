package views

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// jsonLines decodes a JSON-lines stream into its messages' headers, after
// the version message.
func jsonLines(t *testing.T, b []byte) []MessageHeader {
	t.Helper()
	var out []MessageHeader
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var h MessageHeader
		if err := json.Unmarshal(line, &h); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if h.Type != MessageVersion { // the stream's first line
			out = append(out, h)
		}
	}
	return out
}

func newViews() (*OperationHuman, *OperationJSON, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	var out, errw, js bytes.Buffer
	h := &OperationHuman{Stdout: &out, Stderr: &errw, Now: fixedClock}
	j := &OperationJSON{Events: NewEvents(&js, "test", fixedClock)}
	return h, j, &out, &errw, &js
}

// TestApplyCompleteOneText: the human view's last line and the JSON
// apply_complete and change_summary messages are one text, for apply and
// for destroy.
func TestApplyCompleteOneText(t *testing.T) {
	for _, command := range []string{"apply", "destroy"} {
		h, j, out, _, js := newViews()
		res := &apply.Result{Added: 2, Changed: 1, Destroyed: 3, Blocked: 99, Writes: 6, Outcome: state.OutcomeSuccess}
		NewApply(h, j).Applied(res, "digest", command)
		human := strings.TrimSpace(out.String())
		if human != ApplyCompleteText(res, command) || !strings.Contains(human, "2 added, 1 changed, 3 destroyed") {
			t.Fatalf("%s: human %q", command, human)
		}
		msgs := jsonLines(t, js.Bytes())
		if len(msgs) != 2 || msgs[0].Type != MessageApplyComplete || msgs[1].Type != MessageChangeSummary {
			t.Fatalf("%s: messages %+v", command, msgs)
		}
		for _, m := range msgs {
			if m.Message != human {
				t.Errorf("%s: %s message %q, human %q", command, m.Type, m.Message, human)
			}
		}
	}
}

// TestFailedApplyHasNoCompleteLine: on failure the human view prints no
// "complete" line (the command's error says what happened); JSON still
// closes the stream with apply_complete at level error.
func TestFailedApplyHasNoCompleteLine(t *testing.T) {
	h, j, out, _, js := newViews()
	res := &apply.Result{Added: 1, Writes: 1, Errors: []error{errors.New("boom")}, Outcome: state.OutcomePartial}
	NewApply(h, j).Applied(res, "d", "apply")
	if out.Len() != 0 {
		t.Fatalf("human printed %q", out.String())
	}
	if msgs := jsonLines(t, js.Bytes()); msgs[0].Type != MessageApplyComplete || msgs[0].Level != "error" {
		t.Fatalf("messages %+v", msgs)
	}
}

// TestPlannedOrder: warnings come before the plan, errors (a tripped
// guard) after it, in both views.
func TestPlannedOrder(t *testing.T) {
	warn := hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Careful", Detail: "a warning"}}
	fail := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Guard tripped", Detail: "an error"}}
	p := smallPlan()
	for _, tt := range []struct {
		name  string
		diags hcl.Diagnostics
		first bool // the diagnostic comes before the plan
	}{{"warning", warn, true}, {"error", fail, false}} {
		h, j, out, _, js := newViews()
		h.Stderr = out // one stream, so that the order is the order written
		if err := NewPlan(h, j).Planned(p, tt.diags); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		diag, plan := strings.Index(text, tt.diags[0].Summary), strings.Index(text, "Plan: ")
		if diag < 0 || plan < 0 || (diag < plan) != tt.first {
			t.Errorf("%s: human diagnostic at %d, plan at %d:\n%s", tt.name, diag, plan, text)
		}
		msgs := jsonLines(t, js.Bytes())
		firstDiag, firstPlan := -1, -1
		for i, m := range msgs {
			if m.Type == MessageDiagnostic && strings.Contains(m.Message, tt.diags[0].Summary) && firstDiag < 0 {
				firstDiag = i
			}
			if m.Type == MessageChangeSummary && firstPlan < 0 {
				firstPlan = i
			}
		}
		if firstDiag < 0 || firstPlan < 0 || (firstDiag < firstPlan) != tt.first {
			t.Errorf("%s: JSON diagnostic at %d, summary at %d: %+v", tt.name, firstDiag, firstPlan, msgs)
		}
	}
}

// TestFailedOnlyInJSON: the human view leaves errors to the command's
// error line; JSON writes them as a diagnostic.
func TestFailedOnlyInJSON(t *testing.T) {
	h, j, out, errw, js := newViews()
	NewApply(h, j).Failed(errors.New("state locked"))
	if out.Len()+errw.Len() != 0 {
		t.Fatalf("human wrote %q %q", out, errw)
	}
	if msgs := jsonLines(t, js.Bytes()); len(msgs) != 1 || msgs[0].Type != MessageDiagnostic || msgs[0].Level != "error" {
		t.Fatalf("messages %+v", msgs)
	}
}

func TestNewApplyPicksFormats(t *testing.T) {
	h, j, _, _, _ := newViews()
	if v, ok := NewApply(h, nil).(*OperationHuman); !ok || v != h {
		t.Errorf("human only: %T", NewApply(h, nil))
	}
	if v, ok := NewApply(nil, j).(*OperationJSON); !ok || v != j {
		t.Errorf("JSON only: %T", NewApply(nil, j))
	}
	if _, ok := NewApply(h, j).(Both); !ok {
		t.Errorf("both: %T", NewApply(h, j))
	}
}

// TestApplyProgress: a bar on a terminal (cleared at the end), else a line
// every 10 s counting made writes.
func TestApplyProgress(t *testing.T) {
	var errw bytes.Buffer
	clock := fixedNow
	h := &OperationHuman{Stdout: &bytes.Buffer{}, Stderr: &errw, Now: func() time.Time { return clock }}
	h.ApplyStart(3)
	h.PostApply("lumu", smallPlan().Blocklists[0].Changes[0], nil)
	if errw.Len() != 0 {
		t.Fatalf("printed before 10 s: %q", errw.String())
	}
	clock = clock.Add(11 * time.Second)
	h.PostApply("lumu", smallPlan().Blocklists[0].Changes[0], errors.New("x"))
	if got := errw.String(); got != "Still applying: 1 of 3 item writes made, 1 failed.\n" {
		t.Fatalf("progress line %q", got)
	}
	errw.Reset()
	h.Terminal = true
	h.ApplyStart(2)
	h.PostApply("lumu", smallPlan().Blocklists[0].Changes[0], nil)
	h.ApplyEnd()
	if got := errw.String(); !strings.Contains(got, "] 1/2 items") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Fatalf("bar %q", got)
	}
}

// TestFetchStatus: a status line on a terminal, cleared when fetching
// ends; else the log every 10 s; retries are never shown.
func TestFetchStatus(t *testing.T) {
	var errw bytes.Buffer
	var logged, debug []string
	clock := fixedNow
	s := &FetchStatus{Stderr: &errw, Now: func() time.Time { return clock },
		Log: func(m string) { logged = append(logged, m) }, Debug: func(m string) { debug = append(debug, m) }}
	ev := provider.ProgressEvent{Kind: provider.ProgressContexts, Source: "acme/mal", Done: 1, Total: 4}
	s.Fetch(ev)
	s.Fetch(ev) // within 10 s: not logged again
	clock = clock.Add(10 * time.Second)
	s.Fetch(provider.ProgressEvent{Kind: provider.ProgressRetrying, Source: "acme/mal"})
	s.Fetch(ev)
	if len(logged) != 2 || logged[0] != "acme/mal: incident contexts 1/4" || len(debug) != 3 || errw.Len() != 0 {
		t.Fatalf("logged %q debug %q stderr %q", logged, debug, errw.String())
	}
	s.Terminal = true
	s.Fetch(ev)
	s.Fetch(provider.ProgressEvent{Kind: operation.FetchFinished})
	if got := errw.String(); got != "\r\x1b[Kacme/mal: incident contexts 1/4\r\x1b[K" {
		t.Fatalf("status line %q", got)
	}
}
