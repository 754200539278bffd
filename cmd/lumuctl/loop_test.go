package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli"
)

// apply --every (SPEC section 9) through the real binary, as a daemon: its
// /metrics and /healthz, surviving failed cycles, converging across Lumu
// changes, and SIGTERM. Waits poll with a deadline; nothing asserts how
// fast anything is.

// loopProc is one running `lumuctl apply --every`.
type loopProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string // host:port of --metrics-listen

	mu     sync.Mutex
	stderr strings.Builder
	done   chan error
}

var servingRE = regexp.MustCompile(`Serving metrics on http://([^/\s]+)/metrics`)

func startLoop(t *testing.T, e *e2e, args ...string) *loopProc {
	t.Helper()
	cmd := exec.Command(e.bin, append([]string{"apply", "--auto-approve", "--metrics-listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = e.dir
	cmd.Env = e.env
	cmd.Stdout = io.Discard
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &loopProc{t: t, cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			l.mu.Lock()
			l.stderr.WriteString(line + "\n")
			l.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		l.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-l.done
		}
	})
	select {
	case l.addr = <-addr:
	case err := <-l.done:
		t.Fatalf("lumuctl exited before serving metrics (%v):\n%s", err, l.errText())
	case <-time.After(60 * time.Second):
		t.Fatalf("no \"Serving metrics\" line:\n%s", l.errText())
	}
	return l
}

func (l *loopProc) errText() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stderr.String()
}

func (l *loopProc) get(path string) (int, string) {
	l.t.Helper()
	resp, err := http.Get("http://" + l.addr + path)
	if err != nil {
		l.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (l *loopProc) scrape() map[string]*dto.MetricFamily {
	l.t.Helper()
	code, body := l.get("/metrics")
	if code != 200 {
		l.t.Fatalf("/metrics: %d %s", code, body)
	}
	return promFamilies(l.t, []byte(body))
}

func (l *loopProc) cycles(outcome string) float64 {
	v, _ := promValue(l.scrape(), "lumuctl_cycles_total", "outcome="+outcome)
	return v
}

// waitFor polls cond until it holds or a minute passes.
func (l *loopProc) waitFor(what string, cond func() bool) {
	l.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		select {
		case err := <-l.done:
			l.t.Fatalf("waiting for %s: lumuctl exited (%v):\n%s", what, err, l.errText())
		default:
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("waiting for %s: gave up after a minute:\n%s", what, l.errText())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and returns the exit code.
func (l *loopProc) stop() int {
	l.t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		l.t.Fatal(err)
	}
	select {
	case err := <-l.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			l.t.Fatal(err)
		}
		return 0
	case <-time.After(time.Minute):
		l.t.Fatalf("lumuctl did not exit after SIGTERM:\n%s", l.errText())
	}
	return -1
}

// TestLoopMetrics: the first cycle of a loop, then a quiet hour: /metrics
// equals what the stand-ins counted, /healthz is 200, SIGTERM exits 0.
func TestLoopMetrics(t *testing.T) {
	e := newE2E(t, buildLumuctl(t))
	e.sb.Lumu.ResetCounters()
	e.sb.Kibana.ResetCounters()
	logStart := len(e.sb.Kibana.Log())
	l := startLoop(t, e, "--every", "1h")
	l.waitFor("the first cycle", func() bool { return l.cycles("success") == 1 })

	fams := l.scrape()
	lc, kc := e.sb.Lumu.Counters(), e.sb.Kibana.Counters()
	if lc.List == 0 || lc.Context == 0 || kc[kibanasim.KindCreateItem] == 0 {
		t.Fatalf("the first cycle read no Lumu or created nothing (%+v, %v)", lc, kc)
	}
	for _, o := range []string{"partial", "error", "guard", "locked"} {
		wantProm(t, fams, 0, "lumuctl_cycles_total", "outcome="+o)
	}
	wantProm(t, fams, 0, "lumuctl_run_last_exit_code", "command=apply")
	wantProm(t, fams, float64(lc.List), "lumuctl_lumu_requests_total", "company=acme", "kind=list")
	wantProm(t, fams, float64(lc.Context), "lumuctl_lumu_requests_total", "company=acme", "kind=context")
	wantProm(t, fams, float64(kc[kibanasim.KindCreateItem]), "lumuctl_item_writes_total", "blocklist=lumu", "op=create")
	byMC := kibanaByMethodCode(e.sb.Kibana.Log()[logStart:])
	for k, n := range byMC {
		wantProm(t, fams, float64(n), "lumuctl_kibana_requests_total", "kibana=sandbox", "method="+k[0], "code="+k[1])
	}
	if f := fams["lumuctl_kibana_requests_total"]; f == nil || len(f.Metric) != len(byMC) {
		t.Errorf("lumuctl_kibana_requests_total has series the stand-in did not see (it saw %v)", byMC)
	}
	blocked := map[string]int{}
	for _, it := range e.sb.Kibana.Items() {
		if strings.HasPrefix(it.ItemID, crashBlocklistPrefix) {
			for _, en := range it.Entries {
				blocked[it.OSTypes[0]] += len(en.Value)
			}
		}
	}
	for os, n := range blocked {
		wantProm(t, fams, float64(n), "lumuctl_hashes_blocked", "blocklist=lumu", "os="+os)
	}
	if code, body := l.get("/healthz"); code != 200 || !strings.HasPrefix(body, "ok:") {
		t.Errorf("/healthz after a successful cycle: %d %q", code, body)
	}
	for _, secret := range []string{e.sb.Info().LumuKey, e.sb.Info().KibanaAPIKey} {
		if _, body := l.get("/metrics"); strings.Contains(body, secret) {
			t.Fatal("/metrics shows a key")
		}
	}
	if code := l.stop(); code != 0 {
		t.Fatalf("SIGTERM between cycles: exit %d, want 0:\n%s", code, l.errText())
	}
	if err := e.checkUnowned(); err != nil {
		t.Error(err)
	}
}

// TestLoopSurvives: cycles every 200ms converge after a Lumu change, survive
// cycles whose Kibana answers 401 (and /healthz turns 503 once they have
// failed for two intervals), recover when the key is right again, and
// SIGTERM exits 0.
func TestLoopSurvives(t *testing.T) {
	e := newE2E(t, buildLumuctl(t))
	l := startLoop(t, e, "--every", "200ms")
	l.waitFor("a successful cycle", func() bool { return l.cycles("success") >= 1 })
	if code, _ := l.get("/healthz"); code != 200 {
		t.Fatalf("/healthz after a successful cycle: %d", code)
	}

	// Lumu changes between cycles: a new incident's hash gets blocked.
	const added = "ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12"
	inc, err := e.sb.Lumu.AddIncident(lumusim.NewIncident{AdversaryTypes: []string{"Malware"}, Hashes: map[lumusim.HashType][]string{lumusim.SHA256: {added}}})
	if err != nil {
		t.Fatal(err)
	}
	l.waitFor("the new hash in Kibana", func() bool { return e.holds(added) == 2 }) // windows and linux

	// A wrong Kibana key (lumuctl.lumuvars wins over the environment and
	// is read every cycle): Kibana answers 401, the cycles fail, the loop
	// goes on.
	vars := filepath.Join(e.dir, "lumuctl.lumuvars")
	if err := os.WriteFile(vars, []byte("kibana_key = \"not-the-key\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := l.cycles("error")
	l.waitFor("failed cycles", func() bool { return l.cycles("error") >= before+2 })
	l.waitFor("/healthz 503", func() bool { code, _ := l.get("/healthz"); return code == 503 })
	_, body := l.get("/healthz")
	if !strings.Contains(body, "failing:") || !strings.Contains(body, "401") {
		t.Errorf("/healthz body does not give the reason: %q", body)
	}
	if strings.Contains(body, "not-the-key") || strings.Contains(body, e.sb.Info().KibanaAPIKey) {
		t.Fatal("/healthz shows a key")
	}
	if strings.Contains(l.errText(), "not-the-key") {
		t.Fatal("the log shows a key")
	}
	wantProm(t, l.scrape(), 1, "lumuctl_run_last_exit_code", "command=apply")

	// The key is right again: cycles succeed, /healthz is 200, and the
	// closed incident's hash leaves Kibana.
	if err := os.Remove(vars); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Lumu.CloseIncident(inc.ID, "resolved"); err != nil {
		t.Fatal(err)
	}
	l.waitFor("/healthz 200 again", func() bool { code, _ := l.get("/healthz"); return code == 200 })
	l.waitFor("the closed incident's hash leaving Kibana", func() bool { return e.holds(added) == 0 })
	// Cycles run back to back here (200ms apart, each longer under load),
	// so SIGTERM may land between cycles (exit 0) or during one, which is
	// then an interrupted apply of a converged world: exit 130, nothing
	// written (docs/operating.md). TestLoopMetrics pins exit 0 between
	// cycles.
	switch code := l.stop(); {
	case code == 0:
	case code == 130 && strings.Contains(l.errText(), "interrupted") && strings.Contains(l.errText(), "nothing was written"):
	default:
		t.Fatalf("SIGTERM: exit %d, want 0 (between cycles) or 130 with nothing written (during one):\n%s", code, l.errText())
	}
	if err := e.checkUnowned(); err != nil {
		t.Error(err)
	}
}

// holds counts the owned items that hold value.
func (e *e2e) holds(value string) int {
	n := 0
	for _, it := range e.sb.Kibana.Items() {
		if !strings.HasPrefix(it.ItemID, crashBlocklistPrefix) {
			continue
		}
		for _, en := range it.Entries {
			for _, v := range en.Value {
				if v == value {
					n++
				}
			}
		}
	}
	return n
}

// TestLoopFlags: --every needs --auto-approve and takes no plan file;
// --metrics-listen needs --every.
func TestLoopFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apply", "--every", "30m"}, "--every needs --auto-approve"},
		{[]string{"apply", "--auto-approve", "--every", "30m", "x.plan"}, "--every takes no plan file"},
		{[]string{"apply", "--auto-approve", "--every", "0s"}, "--every must be a positive duration"},
		{[]string{"apply", "--auto-approve", "--metrics-listen", ":0"}, "--metrics-listen needs --every"},
		{[]string{"destroy", "--auto-approve", "--every", "30m"}, "unknown flag: --every"},
	} {
		code, out := runInProcess(t, tc.args...)
		if code != 1 || !strings.Contains(out, tc.want) {
			t.Errorf("lumuctl %s: exit %d, want 1 with %q:\n%s", strings.Join(tc.args, " "), code, tc.want, out)
		}
	}
}

// runInProcess runs lumuctl in this process with no input and returns the
// exit code and the combined output.
func runInProcess(t *testing.T, args ...string) (int, string) {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out strings.Builder
	code := cli.Run(context.Background(), args, cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	return code, out.String()
}

// TestLoopInterruptedCycle: SIGTERM during a cycle's writes ends the loop
// like an interrupted apply: the write in flight finishes and is recorded,
// nothing more starts, exit 3 (changes were made).
func TestLoopInterruptedCycle(t *testing.T) {
	e := newE2E(t, buildLumuctl(t))
	e.sb.Kibana.SetLatency(kibanasim.KindCreateItem, 700*time.Millisecond)
	l := startLoop(t, e, "--every", "1h", "--parallelism", "1")
	l.waitFor("the first create in flight", func() bool { return e.sb.Kibana.Counters()[kibanasim.KindCreateItem] >= 1 })
	if code := l.stop(); code != 3 {
		t.Fatalf("SIGTERM during a cycle's writes: exit %d, want 3:\n%s", code, l.errText())
	}
	if !strings.Contains(l.errText(), "interrupted") {
		t.Errorf("no interruption message:\n%s", l.errText())
	}
	if n := len(e.ownedItems()); n == 0 || n >= 4 {
		t.Errorf("%d owned items after the interrupted cycle, want between 1 and 3", n)
	}
	if n, err := e.pendingJournal(); err != nil || n != 0 {
		t.Errorf("journal after the interrupted cycle: %d pending (%v), want the write in flight recorded", n, err)
	}
}
