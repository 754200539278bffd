package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/metrics"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/plan"
)

// This file is apply --every (SPEC section 9): the original integration ran
// every 30 minutes from cron or a container; the loop does the same in one
// process (operation.Every). Each cycle is exactly `apply --auto-approve` (runApply, operation.Apply: plan with
// every guard, the lock taken and released, the journal); the loop only
// schedules cycles, counts their outcomes and serves /metrics and /healthz.

// loopFlags are apply's flags that only the loop uses.
type loopFlags struct {
	every         time.Duration
	metricsListen string
}

// checkLoop validates the loop flags before anything runs.
func checkLoop(f applyFlags, planFile string) error {
	switch {
	case f.every <= 0:
		return fmt.Errorf("--every must be a positive duration such as 30m, got %s", f.every)
	case planFile != "":
		return errors.New("--every takes no plan file: each cycle makes its own plan")
	case !f.autoApprove:
		return errors.New("--every needs --auto-approve: nobody is there to confirm each cycle")
	}
	return nil
}

// outcomeOf maps a cycle's exit code to its lumuctl_cycles_total outcome.
func outcomeOf(code int) string {
	switch code {
	case ExitOK:
		return metrics.OutcomeSuccess
	case ExitPartial:
		return metrics.OutcomePartial
	case ExitGuard:
		return metrics.OutcomeGuard
	case ExitLocked:
		return metrics.OutcomeLocked
	}
	return metrics.OutcomeError
}

// runLoop runs apply cycles every f.every (start to start; a cycle longer
// than the interval is followed at once by the next) until ctx is done.
// A failed cycle is reported, counted and survived. An interrupt between
// cycles ends the loop with exit 0; one during a cycle ends it with that
// cycle's exit code, like an interrupted apply.
func runLoop(ctx context.Context, g *globals, f applyFlags) error {
	m := metrics.New(true)
	g.metrics = m
	defer func() { g.metrics = nil }()
	h := &health{interval: f.every, now: g.now}
	if f.metricsListen != "" {
		ln, err := net.Listen("tcp", f.metricsListen)
		if err != nil {
			return fmt.Errorf("--metrics-listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		mux.Handle("/healthz", h)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Fprintf(g.streams.Err, "Serving metrics on http://%s/metrics and health on http://%s/healthz\n", ln.Addr(), ln.Addr())
	}
	g.logger.Info("apply loop starting", "every", f.every.String())
	cycles, err := operation.Every(ctx, f.every, g.now, func(ctx context.Context, cycle int) error {
		start := g.now()
		g.lastFailure = ""
		// A second interrupt during this cycle reports this cycle's writes
		// (exit 3 only when it made some), not the earlier cycles'.
		g.writes.made.Store(0)
		err := runApply(ctx, g, f, plan.ModeNormal, "")
		end := g.now()
		code := exitCodeOf(err)
		m.Run("apply", start, end, code)
		if err != nil && ctx.Err() != nil {
			// Interrupted during the cycle: in-flight writes finished and
			// were recorded; exit as an interrupted apply does.
			return err
		}
		outcome := outcomeOf(code)
		m.Cycle(outcome)
		why := failureReason(err, g.lastFailure)
		h.record(end, outcome, why)
		if err != nil {
			printError(g.streams.Err, err)
			g.logger.Error("apply cycle failed; the loop goes on", "cycle", cycle, "outcome", outcome, "exit_code", code, "error", why)
		} else {
			g.logger.Info("apply cycle done", "cycle", cycle, "duration", end.Sub(start).String())
		}
		if f.metricsFile != "" {
			if werr := m.WriteFile(f.metricsFile); werr != nil {
				g.logger.Error("--metrics-file: " + werr.Error())
			}
		}
		return nil
	})
	if err == nil {
		g.logger.Info("apply loop stopped between cycles", "cycles", cycles)
	}
	return err
}

// failureReason is a failed cycle's message for the log and /healthz: the
// error, or, when a view already reported it (the error carries no text),
// the last error diagnostic the run showed.
func failureReason(err error, shown string) string {
	if err == nil {
		return ""
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		if shown != "" {
			return shown
		}
		return fmt.Sprintf("exit status %d (see the output above)", ee.code)
	}
	return err.Error()
}

// health answers /healthz: 200 while a cycle succeeded less than two
// intervals ago, else 503 with the reason. One failed cycle between
// successes does not flip it; cycles failing for two intervals do.
type health struct {
	interval time.Duration
	now      func() time.Time

	mu          sync.Mutex
	cycles      int
	lastSuccess time.Time
	lastEnd     time.Time
	lastOutcome string
	lastReason  string
}

func (h *health) record(end time.Time, outcome, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cycles++
	h.lastEnd, h.lastOutcome, h.lastReason = end, outcome, why
	if outcome == metrics.OutcomeSuccess {
		h.lastSuccess = end
	}
}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	now := h.now()
	last := ""
	if h.cycles > 0 && h.lastOutcome != metrics.OutcomeSuccess {
		last = fmt.Sprintf("\nlast cycle (%s ago): %s: %s", ago(now.Sub(h.lastEnd)), h.lastOutcome, oneLine(h.lastReason))
	}
	switch {
	case h.cycles == 0:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "starting: the first cycle has not finished yet")
	case h.lastSuccess.IsZero():
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "failing: no cycle has succeeded yet (%d failed)%s\n", h.cycles, last)
	case now.Sub(h.lastSuccess) >= 2*h.interval:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "failing: the last successful cycle ended %s ago, more than two intervals (%s)%s\n",
			ago(now.Sub(h.lastSuccess)), 2*h.interval, last)
	default:
		fmt.Fprintf(w, "ok: the last successful cycle ended %s ago%s\n", ago(now.Sub(h.lastSuccess)), last)
	}
}

// ago rounds a duration for people: seconds, or milliseconds below 10s.
func ago(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
