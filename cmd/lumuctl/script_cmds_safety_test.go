package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
)

// cmdSafety runs the helper commands of the e2e_guards, e2e_outage,
// e2e_lock, e2e_crash and e2e_secrets scripts, as "safety NAME ARGS...":
//
//	incidents close|mute TYPES [N]
//	    closes (or mutes) up to N (default all) open incidents having one of
//	    the comma-separated adversary TYPES, in list order (most recent
//	    first), and prints "closed=K" (or "muted=K").
//	holdlock STATEFILE [COMMAND]
//	    takes the state write lock in the test process, as COMMAND (default
//	    "apply"), until the script ends or unlock; prints the holder record
//	    and sets HOLDER_PID, and HOLDER_WHO and HOLDER_STARTED (RFC 3339) as
//	    regexps.
//	unlock STATEFILE
//	    releases the lock holdlock took.
//	waitwrites N
//	    waits (up to 30 s) until Kibana has seen at least N item writes.
//	waitlog KIND N
//	    waits (up to 30 s) until Kibana's request log holds N finished
//	    requests of KIND (such as "POST items"), then prints their statuses
//	    in order ("KIND: 200 200").
//	nodupes PREFIX
//	    fails when a hash appears twice across the Kibana items whose
//	    item_id starts with PREFIX and that share an OS; prints, per OS,
//	    "OS: items=I hashes=H".
//	nosecret PATH...
//	    fails, naming the file, when $LUMU_KEY or $KIBANA_KEY occurs in a
//	    file under PATH (directories are walked) or in the last stdout or
//	    stderr; prints "scanned N files".
//	perm MODE FILE...
//	    fails unless each FILE has exactly the permission bits MODE (octal).
func cmdSafety(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, args []string){
		"incidents":  cmdIncidents,
		"holdlock":   cmdHoldLock,
		"unlock":     cmdUnlock,
		"waitwrites": cmdWaitWrites,
		"waitlog":    cmdWaitLog,
		"nodupes":    cmdNoDupes,
		"nosecret":   cmdNoSecret,
		"perm":       cmdPerm,
	}
	if neg {
		ts.Fatalf("unsupported: ! safety")
	}
	if len(args) == 0 || cmds[args[0]] == nil {
		ts.Fatalf("usage: safety incidents|holdlock|unlock|waitwrites|waitlog|nodupes|nosecret|perm ARGS...")
	}
	cmds[args[0]](ts, args[1:])
}

func safetySandbox(ts *testscript.TestScript) *sandbox.Sandbox {
	sb := scriptSandboxFor(ts)
	if sb == nil {
		ts.Fatalf("no sandbox started in this script")
	}
	return sb
}

func cmdIncidents(ts *testscript.TestScript, args []string) {
	if len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: safety incidents close|mute TYPES [N]")
	}
	sb := safetySandbox(ts)
	op, verb := sb.Lumu.CloseIncident, "closed"
	switch args[0] {
	case "close":
	case "mute":
		op, verb = sb.Lumu.MuteIncident, "muted"
	default:
		ts.Fatalf("incidents: unknown operation %q (want close or mute)", args[0])
	}
	types := strings.Split(args[1], ",")
	limit := -1
	if len(args) == 3 {
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		limit = n
	}
	done := 0
	for _, inc := range sb.Lumu.Incidents("open") {
		if done == limit {
			break
		}
		if !slices.ContainsFunc(inc.AdversaryTypes, func(t string) bool { return slices.Contains(types, t) }) {
			continue
		}
		ts.Check(op(inc.ID, "e2e script"))
		done++
	}
	fmt.Fprintf(ts.Stdout(), "%s=%d\n", verb, done)
}

// heldLocks maps a script's work directory and state file to the write
// lock its holdlock took.
var heldLocks = map[string]state.Writer{}

func cmdHoldLock(ts *testscript.TestScript, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: safety holdlock STATEFILE [COMMAND]")
	}
	command := "apply"
	if len(args) == 2 {
		command = args[1]
	}
	path := ts.MkAbs(args[0])
	if heldLocks[path] != nil {
		ts.Fatalf("holdlock: %s is already held by this script", args[0])
	}
	store := boltstore.New(path, boltstore.Options{})
	w, err := store.Lock(context.Background(), state.LockOptions{Command: command})
	ts.Check(err)
	heldLocks[path] = w
	ts.Defer(func() {
		if heldLocks[path] == w {
			delete(heldLocks, path)
			w.Unlock()
		}
	})
	info := w.Info()
	started := info.Started.Format(time.RFC3339)
	ts.Setenv("HOLDER_PID", strconv.Itoa(info.PID))
	ts.Setenv("HOLDER_WHO", regexp.QuoteMeta(info.Who))
	ts.Setenv("HOLDER_STARTED", regexp.QuoteMeta(started))
	fmt.Fprintf(ts.Stdout(), "pid=%d who=%s command=%s started=%s\n", info.PID, info.Who, info.Command, started)
}

func cmdUnlock(ts *testscript.TestScript, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: safety unlock STATEFILE")
	}
	path := ts.MkAbs(args[0])
	w := heldLocks[path]
	if w == nil {
		ts.Fatalf("unlock: %s is not held by this script", args[0])
	}
	delete(heldLocks, path)
	ts.Check(w.Unlock())
}

func cmdWaitWrites(ts *testscript.TestScript, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: safety waitwrites N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	sb := safetySandbox(ts)
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := sb.Kibana.Counters().Writes()
		if got >= want {
			fmt.Fprintf(ts.Stdout(), "writes>=%d\n", want)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitwrites: %d writes after 30s, want at least %d", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cmdWaitLog(ts *testscript.TestScript, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: safety waitlog KIND N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	sb := safetySandbox(ts)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var statuses []string
		for _, e := range sb.Kibana.Log() {
			if e.Kind == args[0] {
				statuses = append(statuses, strconv.Itoa(e.Status))
			}
		}
		if len(statuses) >= want {
			fmt.Fprintf(ts.Stdout(), "%s: %s\n", args[0], strings.Join(statuses, " "))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitlog: %d finished %q requests after 30s, want %d", len(statuses), args[0], want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func cmdNoDupes(ts *testscript.TestScript, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: safety nodupes PREFIX")
	}
	sb := safetySandbox(ts)
	type osStat struct{ items, hashes int }
	stats := map[string]*osStat{}
	seen := map[string]string{} // os + " " + hash → item_id
	var dupes []string
	for _, it := range sb.Kibana.Items() {
		if !strings.HasPrefix(it.ItemID, args[0]) {
			continue
		}
		if len(it.OSTypes) != 1 {
			ts.Fatalf("item %s has os_types %v, want exactly one", it.ItemID, it.OSTypes)
		}
		osType := it.OSTypes[0]
		st := stats[osType]
		if st == nil {
			st = &osStat{}
			stats[osType] = st
		}
		st.items++
		for _, e := range it.Entries {
			for _, v := range e.Value {
				key := osType + " " + strings.ToLower(v)
				if prev, ok := seen[key]; ok {
					dupes = append(dupes, fmt.Sprintf("%s %s in %s and %s", osType, v, prev, it.ItemID))
					continue
				}
				seen[key] = it.ItemID
				st.hashes++
			}
		}
	}
	oses := make([]string, 0, len(stats))
	for o := range stats {
		oses = append(oses, o)
	}
	sort.Strings(oses)
	for _, o := range oses {
		fmt.Fprintf(ts.Stdout(), "%s: items=%d hashes=%d\n", o, stats[o].items, stats[o].hashes)
	}
	if len(dupes) > 0 {
		ts.Fatalf("duplicate hashes:\n%s", strings.Join(dupes, "\n"))
	}
}

func cmdNoSecret(ts *testscript.TestScript, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: safety nosecret PATH...")
	}
	names := []string{"LUMU_KEY", "KIBANA_KEY"}
	var secrets []string
	for _, name := range names {
		v := ts.Getenv(name)
		if len(v) < 8 {
			ts.Fatalf("nosecret: $%s has %d characters, too short to scan for", name, len(v))
		}
		secrets = append(secrets, v)
	}
	check := func(where string, data []byte) {
		for i, s := range secrets {
			if strings.Contains(string(data), s) {
				ts.Fatalf("nosecret: %s contains $%s", where, names[i])
			}
		}
	}
	check("stdout", []byte(ts.ReadFile("stdout")))
	check("stderr", []byte(ts.ReadFile("stderr")))
	files := 0
	for _, p := range args {
		err := filepath.WalkDir(ts.MkAbs(p), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(ts.Getenv("WORK"), path)
			check(rel, data)
			files++
			return nil
		})
		ts.Check(err)
	}
	fmt.Fprintf(ts.Stdout(), "scanned %d files\n", files)
}

func cmdPerm(ts *testscript.TestScript, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: safety perm MODE FILE...")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	for _, f := range args[1:] {
		fi, err := os.Stat(ts.MkAbs(f))
		ts.Check(err)
		if got := fi.Mode().Perm(); got != fs.FileMode(want) {
			ts.Fatalf("%s has mode %#o, want %#o", f, got, want)
		}
	}
}
