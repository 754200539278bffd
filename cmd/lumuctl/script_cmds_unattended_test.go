package main

import (
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// e2eSubstFile is "e2e substfile FILE OLD WITHFILE": like subst, but the
// replacement is the content of WITHFILE (so it may span lines).
func e2eSubstFile(ts *testscript.TestScript, neg bool, args []string) {
	e2eNoNeg(ts, neg, "substfile")
	if len(args) != 3 {
		ts.Fatalf("usage: substfile FILE OLD WITHFILE")
	}
	path := ts.MkAbs(args[0])
	fi, err := os.Stat(path)
	ts.Check(err)
	data, err := os.ReadFile(path)
	ts.Check(err)
	if n := strings.Count(string(data), args[1]); n != 1 {
		ts.Fatalf("substfile: %q occurs %d times in %s, want once", args[1], n, args[0])
	}
	with := strings.TrimSuffix(ts.ReadFile(args[2]), "\n")
	ts.Check(os.WriteFile(path, []byte(strings.Replace(string(data), args[1], with, 1)), fi.Mode().Perm()))
}
