package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
	"github.com/lumuctl/lumuctl/engine/plan"
)

// cmdE2E runs the helper commands of the e2e_churn, e2e_drift,
// e2e_unmanaged, e2e_plan_readonly, e2e_saved_plan and e2e_policies scripts,
// as "e2e NAME ARGS...":
//
//	jsonvar NAME FILE PATH
//	    sets env NAME to the value at PATH (see jsonget) in the JSON
//	    document FILE.
//	jsonget FILE PATH
//	    prints the value at PATH in the JSON document FILE ("stdout" is the
//	    last command's output). PATH is dot-separated object keys and array
//	    indexes; "@len" takes the length of an array or object ("#" would
//	    start a testscript comment). Strings print raw, other values as JSON.
//	planwrites FILE
//	    prints "writes=N": the Kibana writes the plan in FILE (a `show
//	    PLAN --json` document) makes: its item changes plus containers.
//	sha256file FILE
//	    prints the hex sha256 of FILE.
//	mode FILE
//	    prints FILE's permission bits in octal, like 0600.
//	subst FILE OLD NEW
//	    replaces the single occurrence of OLD in FILE by NEW (fails unless
//	    OLD occurs exactly once).
//	planjson PLANFILE OUT
//	    writes the plan in PLANFILE, as lumuctl holds it in memory, to OUT
//	    as JSON (to edit it, then reseal it).
//	reseal IN PLANFILE
//	    writes the plan in IN (JSON, from planjson, edited) to PLANFILE,
//	    with a recomputed plan_digest, as anyone who can write the file can
//	    (plan_signature is kept: making one needs the key).
//	planedit PLANFILE OLD NEW
//	    replaces the single occurrence of OLD in the decompressed content
//	    of PLANFILE (header line and body) by NEW, without resealing.
//	substfile FILE OLD WITHFILE
//	    like subst, with the content of WITHFILE as NEW.
//	items [-owned PREFIX | -unowned PREFIX]
//	    prints the sandbox Kibana's stored items, one JSON object a line,
//	    sorted by item_id; -owned keeps items whose item_id starts with
//	    PREFIX, -unowned the others.
//	holding VALUE...
//	    prints "items=N values=M": how many stored items hold at least one of
//	    the values, and how many of the values are stored at all.
//	kibana METHOD PATH [JSON]
//	    calls the sandbox Kibana's public API with its API key (as another
//	    Kibana user would) and prints the body; fails on status >= 300
//	    unless negated.
func cmdE2E(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"jsonvar":    e2eJSONVar,
		"jsonget":    e2eJSONGet,
		"planwrites": e2ePlanWrites,
		"sha256file": e2eSHA256File,
		"mode":       e2eMode,
		"subst":      e2eSubst,
		"reseal":     e2eReseal,
		"planjson":   e2ePlanJSON,
		"planedit":   e2ePlanEdit,
		"substfile":  e2eSubstFile, // script_cmds_unattended_test.go
		"items":      e2eItems,
		"holding":    e2eHolding,
		"kibana":     e2eKibana,
	}
	if len(args) == 0 || cmds[args[0]] == nil {
		ts.Fatalf("usage: e2e jsonvar|jsonget|planwrites|sha256file|mode|subst|substfile|reseal|items|holding|kibana ARGS...")
	}
	ts.Stdout() // an empty output still replaces the previous command's
	cmds[args[0]](ts, neg, args[1:])
}

func e2eNoNeg(ts *testscript.TestScript, neg bool, name string) {
	if neg {
		ts.Fatalf("unsupported: ! %s", name)
	}
}

// jsonPath walks PATH (see e2eCmds) through v.
func e2eJSONPath(v any, path string) (any, error) {
	if path == "" || path == "." {
		return v, nil
	}
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			if p == "@len" {
				v = float64(len(x))
				continue
			}
			next, ok := x[p]
			if !ok {
				return nil, fmt.Errorf("no key %q", p)
			}
			v = next
		case []any:
			if p == "@len" {
				v = float64(len(x))
				continue
			}
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return nil, fmt.Errorf("bad index %q into an array of %d", p, len(x))
			}
			v = x[i]
		default:
			return nil, fmt.Errorf("cannot take %q of %T", p, v)
		}
	}
	return v, nil
}

func e2eJSONText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func e2eReadJSON(ts *testscript.TestScript, file string) any {
	var v any
	if err := json.Unmarshal([]byte(ts.ReadFile(file)), &v); err != nil {
		ts.Fatalf("%s: not JSON: %v", file, err)
	}
	return v
}

func e2eJSONVar(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "jsonvar")
	if len(args) != 3 {
		ts.Fatalf("usage: jsonvar NAME FILE PATH")
	}
	v, err := e2eJSONPath(e2eReadJSON(ts, args[1]), args[2])
	if err != nil {
		ts.Fatalf("jsonvar: %v", err)
	}
	ts.Setenv(args[0], e2eJSONText(v))
}

func e2eJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "jsonget")
	if len(args) != 2 {
		ts.Fatalf("usage: jsonget FILE PATH")
	}
	v, err := e2eJSONPath(e2eReadJSON(ts, args[0]), args[1])
	if err != nil {
		ts.Fatalf("jsonget: %v", err)
	}
	fmt.Fprintln(ts.Stdout(), e2eJSONText(v))
}

func e2ePlanWrites(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "planwrites")
	if len(args) != 1 {
		ts.Fatalf("usage: planwrites FILE")
	}
	var p struct {
		Kibanas []struct {
			CreateContainer bool `json:"create_container"`
		} `json:"kibanas"`
		Blocklists []struct {
			Changes []json.RawMessage `json:"changes"`
		} `json:"blocklists"`
	}
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &p); err != nil {
		ts.Fatalf("planwrites: %s: %v", args[0], err)
	}
	n := 0
	for _, k := range p.Kibanas {
		if k.CreateContainer {
			n++
		}
	}
	for _, b := range p.Blocklists {
		n += len(b.Changes)
	}
	fmt.Fprintf(ts.Stdout(), "writes=%d\n", n)
}

func e2eSHA256File(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "sha256file")
	if len(args) != 1 {
		ts.Fatalf("usage: sha256file FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	sum := sha256.Sum256(data)
	fmt.Fprintln(ts.Stdout(), hex.EncodeToString(sum[:]))
}

func e2eMode(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "mode")
	if len(args) != 1 {
		ts.Fatalf("usage: mode FILE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%04o\n", fi.Mode().Perm())
}

func e2eSubst(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "subst")
	if len(args) != 3 {
		ts.Fatalf("usage: subst FILE OLD NEW")
	}
	path := ts.MkAbs(args[0])
	fi, err := os.Stat(path)
	ts.Check(err)
	data, err := os.ReadFile(path)
	ts.Check(err)
	if n := strings.Count(string(data), args[1]); n != 1 {
		ts.Fatalf("subst: %q occurs %d times in %s, want once", args[1], n, args[0])
	}
	ts.Check(os.WriteFile(path, []byte(strings.Replace(string(data), args[1], args[2], 1)), fi.Mode().Perm()))
}

func e2eReseal(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "reseal")
	if len(args) != 2 {
		ts.Fatalf("usage: reseal IN PLANFILE")
	}
	var p plan.Plan
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &p))
	sig := p.Signature
	ts.Check(plan.Seal(&p))
	p.Signature = sig
	var buf bytes.Buffer
	ts.Check(plan.Encode(&buf, &p))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), buf.Bytes(), 0o600))
}

func e2ePlanJSON(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "planjson")
	if len(args) != 2 {
		ts.Fatalf("usage: planjson PLANFILE OUT")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	p, err := plan.Decode(f)
	ts.Check(err)
	data, err := json.Marshal(p)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o600))
}

func e2ePlanEdit(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "planedit")
	if len(args) != 3 {
		ts.Fatalf("usage: planedit PLANFILE OLD NEW")
	}
	path := ts.MkAbs(args[0])
	data, err := os.ReadFile(path)
	ts.Check(err)
	zr, err := gzip.NewReader(bytes.NewReader(data))
	ts.Check(err)
	raw, err := io.ReadAll(zr)
	ts.Check(err)
	if n := bytes.Count(raw, []byte(args[1])); n != 1 {
		ts.Fatalf("planedit: %q occurs %d times in %s, want once", args[1], n, args[0])
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Replace(raw, []byte(args[1]), []byte(args[2]), 1))
	ts.Check(zw.Close())
	ts.Check(os.WriteFile(path, buf.Bytes(), 0o600))
}

func e2eSandbox(ts *testscript.TestScript) *sandbox.Sandbox {
	sb := scriptSandboxFor(ts)
	if sb == nil {
		ts.Fatalf("no sandbox started in this script")
	}
	return sb
}

func e2eItems(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "items")
	var prefix string
	keepOwned := true
	switch {
	case len(args) == 0:
	case len(args) == 2 && (args[0] == "-owned" || args[0] == "-unowned"):
		prefix, keepOwned = args[1], args[0] == "-owned"
	default:
		ts.Fatalf("usage: items [-owned PREFIX | -unowned PREFIX]")
	}
	for _, it := range e2eSandbox(ts).Kibana.Items() {
		if prefix != "" && strings.HasPrefix(it.ItemID, prefix) != keepOwned {
			continue
		}
		b, err := json.Marshal(it)
		ts.Check(err)
		fmt.Fprintf(ts.Stdout(), "%s\n", b)
	}
}

func e2eHolding(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "holding")
	if len(args) == 0 {
		ts.Fatalf("usage: holding VALUE...")
	}
	want := map[string]bool{}
	for _, v := range args {
		want[strings.ToLower(v)] = true
	}
	seen := map[string]bool{}
	items := 0
	for _, it := range e2eSandbox(ts).Kibana.Items() {
		held := false
		for _, e := range it.Entries {
			for _, v := range e.Value {
				if want[strings.ToLower(v)] {
					held = true
					seen[strings.ToLower(v)] = true
				}
			}
		}
		if held {
			items++
		}
	}
	fmt.Fprintf(ts.Stdout(), "items=%d values=%d\n", items, len(seen))
}

func e2eKibana(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: kibana METHOD PATH [JSON]")
	}
	var body io.Reader
	if len(args) == 3 {
		body = strings.NewReader(args[2])
	}
	req, err := http.NewRequest(args[0], ts.Getenv("KIBANA_URL")+args[1], body)
	ts.Check(err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("kbn-xsrf", "true")
	req.Header.Set("Authorization", "ApiKey "+ts.Getenv("KIBANA_KEY"))
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Stdout().Write(data)
	if failed := resp.StatusCode >= 300; failed != neg {
		ts.Fatalf("kibana %s %s: status %d: %s", args[0], args[1], resp.StatusCode, data)
	}
}
