package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

// scriptCmds are custom testscript commands, used without exec:
//
//	sandbox [-seed N] [-scenario NAME] [-kibana91] [-kibana-version V] [-unowned N]
//	    starts the in-process sandbox for this script (stopped when the
//	    script ends) and sets LUMUCTL_VAR_{lumu_url,lumu_key,kibana_url,
//	    kibana_key,company_uuid,policy_id} plus the same as LUMU_URL, ...,
//	    CONTROL_URL, POLICY_ID_1..3, and OWNER_TAG (`,"ownerSpaceId:default"`
//	    when the emulated Kibana is 9.1+, else empty). The Kibana version is
//	    -kibana-version, else $KIBANA_VERSION, else the stand-in's default.
//	ctl METHOD PATH [JSON]
//	    calls the sandbox control API and prints the response body.
//	counter lumu|kibana NAME
//	    prints "NAME=N" for one request counter; "writes" is Kibana's item
//	    writes.
//	exit CODE PROG [ARGS...]
//	    runs PROG like exec and fails unless it exits with exactly CODE
//	    (stdout and stderr are kept for the next assertions).
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"sandbox": cmdSandbox,
		"ctl":     cmdCtl,
		"counter": cmdCounter,
		"exit":    cmdExit,
		"e2e":     cmdE2E,    // script_cmds_plans_test.go
		"safety":  cmdSafety, // script_cmds_safety_test.go
		"proxy":   cmdProxy,  // script_cmds_proxy_test.go
		"pg":      cmdPG,     // script_cmds_pg_test.go
	}
}

func cmdExit(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exit CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exit: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Logf("stdout:\n%s\nstderr:\n%s", ts.ReadFile("stdout"), ts.ReadFile("stderr"))
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// scriptSandboxes maps a script's work directory to its sandbox. Scripts
// run in parallel: hold scriptSandboxesMu, or use scriptSandboxFor.
var (
	scriptSandboxesMu sync.Mutex
	scriptSandboxes   = map[string]*sandbox.Sandbox{}
)

// scriptSandboxFor returns the sandbox started by ts's script, or nil.
func scriptSandboxFor(ts *testscript.TestScript) *sandbox.Sandbox {
	scriptSandboxesMu.Lock()
	defer scriptSandboxesMu.Unlock()
	return scriptSandboxes[ts.Getenv("WORK")]
}

func cmdSandbox(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! sandbox")
	}
	// KIBANA_VERSION is set by TestScriptKibanaGenerations, which runs the
	// e2e scripts once per emulated Kibana generation.
	opts := sandbox.Options{Scenario: "small", Seed: 1, KibanaSeedUnowned: 5, KibanaVersion: ts.Getenv("KIBANA_VERSION")}
	for i := 0; i < len(args); i++ {
		next := func() string {
			i++
			if i >= len(args) {
				ts.Fatalf("sandbox: %s needs a value", args[i-1])
			}
			return args[i]
		}
		switch args[i] {
		case "-seed":
			n, err := strconv.ParseInt(next(), 10, 64)
			ts.Check(err)
			opts.Seed = n
		case "-scenario":
			opts.Scenario = next()
		case "-kibana91":
			opts.KibanaVersion = "9.1"
		case "-kibana-version":
			opts.KibanaVersion = next()
		case "-unowned":
			n, err := strconv.Atoi(next())
			ts.Check(err)
			opts.KibanaSeedUnowned = n
		default:
			ts.Fatalf("sandbox: unknown option %q", args[i])
		}
	}
	sb, err := sandbox.Start(context.Background(), opts)
	ts.Check(err)
	ts.Defer(func() { sb.Close() })
	scriptSandboxesMu.Lock()
	scriptSandboxes[ts.Getenv("WORK")] = sb
	scriptSandboxesMu.Unlock()
	info := sb.Info()
	set := map[string]string{
		"lumu_url":     info.LumuURL,
		"lumu_key":     info.LumuKey,
		"kibana_url":   info.KibanaURL,
		"kibana_key":   info.KibanaAPIKey,
		"company_uuid": info.CompanyUUID,
		"policy_id":    info.PolicyIDs[0],
	}
	for k, v := range set {
		ts.Setenv("LUMUCTL_VAR_"+k, v)
		ts.Setenv(strings.ToUpper(k), v)
	}
	ts.Setenv("CONTROL_URL", info.ControlURL)
	// OWNER_TAG is what Kibana 9.1+ appends to the tags of an item created
	// from the default space, for scripts that match tags exactly.
	owner := ""
	if sb.Kibana.Generation() >= kibanasim.GenSpaces {
		owner = `,"ownerSpaceId:default"`
	}
	ts.Setenv("OWNER_TAG", owner)
	for i, id := range info.PolicyIDs {
		ts.Setenv(fmt.Sprintf("POLICY_ID_%d", i+1), id)
	}
}

func cmdCtl(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: ctl METHOD PATH [JSON]")
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(args[2])
	}
	req, err := http.NewRequest(args[0], ts.Getenv("CONTROL_URL")+args[1], body)
	ts.Check(err)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Stdout().Write(data)
	failed := resp.StatusCode >= 300
	if failed != neg {
		ts.Fatalf("ctl %s %s: status %d: %s", args[0], args[1], resp.StatusCode, data)
	}
}

func cmdCounter(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: counter lumu|kibana NAME")
	}
	sb := scriptSandboxFor(ts)
	if sb == nil {
		ts.Fatalf("counter: no sandbox started in this script")
	}
	var n int64
	switch args[0] {
	case "kibana":
		c := sb.Kibana.Counters()
		if args[1] == "writes" {
			n = int64(c.Writes())
		} else {
			n = int64(c[args[1]])
		}
	case "lumu":
		b, err := json.Marshal(sb.Lumu.Counters())
		ts.Check(err)
		var m map[string]int64
		ts.Check(json.Unmarshal(b, &m))
		v, ok := m[args[1]]
		if !ok {
			ts.Fatalf("counter: lumu has no counter %q", args[1])
		}
		n = v
	default:
		ts.Fatalf("counter: unknown system %q", args[0])
	}
	fmt.Fprintf(ts.Stdout(), "%s=%d\n", args[1], n)
}
