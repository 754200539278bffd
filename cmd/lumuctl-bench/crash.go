package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
)

// SPEC section 8: after a SIGKILLed apply, the next apply starts its first
// write within 1 s and converges with no duplicate.
const firstWriteTargetS = 1.0

// Shape of the crash: crashLanded creates answered at once, then
// crashParallelism creates held crashLandLate at Kibana, which land after
// the client is gone (as a real server handles a request whose client died).
const (
	crashParallelism = 4
	crashLanded      = 8
	crashLandLate    = 3 * time.Second
)

// crashResult is measurement "crash": the apply after a SIGKILLed one.
type crashResult struct {
	Case string `json:"case"`
	// SlowFindS is how long the Kibana stand-in held each item search
	// (GET _find) of the next apply: its plan then reads the items after
	// the killed run's writes landed. 0: no delay.
	SlowFindS    float64 `json:"next_apply_find_delay_s"`
	Hashes       int     `json:"hashes"`
	Parallelism  int     `json:"parallelism"`
	LandLateS    float64 `json:"land_late_s"`
	LandedAtKill int     `json:"writes_landed_at_kill"`
	InFlight     int     `json:"writes_in_flight_at_kill"`
	LateLanded   int     `json:"late_writes_landed"`
	FirstWrite   seconds `json:"next_apply_first_write_s"` // process start → its first write at Kibana
	// Baseline is the same for the killed run, which had no crash behind
	// it: what planning alone costs before the first write.
	Baseline      seconds `json:"killed_apply_first_write_s"`
	NextWall      seconds `json:"next_apply_wall_s"`
	NextWrites    int     `json:"next_apply_writes"`
	NextConflicts int     `json:"next_apply_409s"`
	Outcome       string  `json:"next_apply_outcome"`
	Reconciled    string  `json:"reconciled_note,omitempty"`
	Values        int     `json:"values_after"`
	Distinct      int     `json:"distinct_values_after"`
	Desired       int     `json:"desired"`
	Duplicates    int     `json:"duplicate_values"`
	ThenNoChange  bool    `json:"following_plan_no_change"`
	ThenSummary   string  `json:"following_plan_summary"`
}

// benchCrash: the initial sync of the churn world is SIGKILLed while
// crashParallelism creates are held at Kibana (they land crashLandLate
// later); the next `apply --auto-approve` is timed from its start to its
// first write at Kibana (the stand-in's request log), and the blocklist is
// checked for duplicates once the late writes landed, then planned again.
func benchCrash(ctx context.Context, o options, bin, tmp string, r *results) error {
	for _, v := range []struct {
		name     string
		slowFind time.Duration
	}{
		{"next apply at once", 0},
		{"killed writes land while the next apply plans", crashLandLate + time.Second},
	} {
		if err := crashOnce(ctx, o, bin, tmp, v.name, v.slowFind, r); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
	}
	return nil
}

// crashOnce is one crash of benchCrash; slowFind > 0 holds each item
// search of the next apply that long at Kibana.
func crashOnce(ctx context.Context, o options, bin, tmp, name string, slowFind time.Duration, r *results) error {
	if items := ceilDiv(o.hashes, o.maxValues); items <= crashLanded+crashParallelism {
		return fmt.Errorf("the crash needs more than %d items to write, -hashes %d / -max-values %d gives %d", crashLanded+crashParallelism, o.hashes, o.maxValues, items)
	}
	logf("crash: building a world of %d hashes", o.hashes)
	w, err := newChurnWorld(ctx, o.seed, o.hashes, o.perIncident)
	if err != nil {
		return err
	}
	defer w.sb.Close()
	ws, err := newWorkspace(ctx, bin, tmp, fmt.Sprintf("crash-%d", len(r.Crash)+1), w.sb.Info(), churnConfig(o))
	if err != nil {
		return err
	}
	// A plan first, so that the killed apply, like the next one, reads
	// Lumu from a warm cache: its time to first write is the baseline.
	logf("crash: warm-up plan")
	if _, err := ws.run(ctx, "plan-warm-up", "plan"); err != nil {
		return err
	}
	k := w.sb.Kibana
	if err := k.AddFault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, Count: crashLanded, DelayMS: 1}); err != nil {
		return err
	}
	if err := k.AddFault(kibanasim.Fault{Kind: kibanasim.KindCreateItem, Count: crashParallelism, DelayMS: int(crashLandLate / time.Millisecond), LandLate: true}); err != nil {
		return err
	}
	k.ResetCounters()
	par := strconv.Itoa(crashParallelism)
	cmd := exec.CommandContext(ctx, ws.bin, "apply", "--auto-approve", "--parallelism", par)
	var killedOut bytes.Buffer
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = ws.dir, ws.env, &killedOut, &killedOut
	logf("crash: apply, SIGKILLed once %d creates landed and %d are in flight", crashLanded, crashParallelism)
	killStart := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(5 * time.Minute)
	for k.Counters()[kibanasim.KindCreateItem] < crashLanded+crashParallelism {
		select {
		case err := <-exited:
			return fmt.Errorf("the apply to kill exited before its writes were in flight: %v\n%s", err, tail(killedOut.String(), 2000))
		case <-deadline:
			_ = cmd.Process.Kill()
			return fmt.Errorf("the apply to kill sent %d creates in 5 minutes", k.Counters()[kibanasim.KindCreateItem])
		case <-time.After(time.Millisecond):
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	c := &crashResult{Case: name, SlowFindS: slowFind.Seconds(), Hashes: o.hashes, Parallelism: crashParallelism, LandLateS: crashLandLate.Seconds(),
		InFlight: crashParallelism}
	c.LandedAtKill = k.Counters()[kibanasim.KindCreateItem] - crashParallelism
	k.ClearFaults()

	logf("crash: %s: next apply", name)
	logBefore := len(k.Log())
	k.SetLatency(kibanasim.KindFind, slowFind)
	if t := firstWriteAfter(k.Log(), killStart); !t.IsZero() {
		c.Baseline = seconds(t.Sub(killStart))
	}
	k.ResetCounters()
	start := time.Now()
	res, err := ws.run(ctx, "apply-after-kill", "apply", "--auto-approve", "--json", "--parallelism", par)
	if err != nil {
		return err
	}
	k.SetLatency(kibanasim.KindFind, 0)
	c.NextWall = seconds(res.Wall)
	c.NextWrites = k.Counters().Writes()
	if ac, err := readApplyComplete(res.Stdout); err == nil {
		c.Outcome = ac.Outcome
	} else {
		return err
	}
	if b, err := os.ReadFile(res.Stdout); err == nil {
		if i := bytes.Index(b, []byte("Reconciled ")); i >= 0 {
			note := string(b[i:])
			if j := strings.IndexAny(note, "\"\n"); j >= 0 {
				note = note[:j]
			}
			c.Reconciled = note
		}
	}
	// Wait for the killed run's held writes to land (their log entries
	// are appended when they finish).
	landBy := time.Now().Add(crashLandLate + 10*time.Second)
	for {
		c.LateLanded = 0
		for _, le := range k.Log() {
			if strings.Contains(le.Fault, "landed late") {
				c.LateLanded++
			}
		}
		if c.LateLanded >= crashParallelism || time.Now().After(landBy) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	log := k.Log()
	for _, le := range log[min(logBefore, len(log)):] {
		if isWrite(le.Kind) && !le.Time.Before(start) && le.Status == 409 {
			c.NextConflicts++
		}
	}
	first := firstWriteAfter(log, start)
	if first.IsZero() {
		c.FirstWrite = seconds(-1)
		r.Failed = append(r.Failed, "crash, "+name+": the next apply made no write")
	} else {
		c.FirstWrite = seconds(first.Sub(start))
	}
	g := churnGroup(o)
	ex, err := groupItems(g, k.Items())
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, e := range ex {
		for _, v := range e.Values {
			c.Values++
			seen[v] = true
		}
	}
	c.Distinct, c.Desired = len(seen), len(w.desired())
	c.Duplicates = c.Values - c.Distinct
	logf("crash: plan after the late writes landed")
	pres, err := ws.run(ctx, "plan-after", "plan", "--out", filepath.Join(ws.dir, "after.plan"))
	if err != nil {
		return err
	}
	c.ThenSummary = planSummary(pres.Stdout)
	c.ThenNoChange = strings.HasPrefix(c.ThenSummary, "No changes")
	r.Crash = append(r.Crash, c)
	if c.Duplicates != 0 || c.Distinct != c.Desired || !c.ThenNoChange || c.Outcome != "success" {
		r.Failed = append(r.Failed, fmt.Sprintf("crash, "+name+": after the next apply %d values (%d distinct, %d desired, %d duplicates), outcome %q; following plan: %s",
			c.Values, c.Distinct, c.Desired, c.Duplicates, c.Outcome, c.ThenSummary))
	}
	return nil
}

func isWrite(kind string) bool {
	return kind == kibanasim.KindCreateItem || kind == kibanasim.KindUpdateItem || kind == kibanasim.KindDeleteItem
}

// firstWriteAfter is the arrival time of the first item write at or after
// t in the stand-in's request log (zero if none).
func firstWriteAfter(log []kibanasim.LogEntry, t time.Time) time.Time {
	var first time.Time
	for _, le := range log {
		if isWrite(le.Kind) && !le.Time.Before(t) && (first.IsZero() || le.Time.Before(first)) {
			first = le.Time
		}
	}
	return first
}
