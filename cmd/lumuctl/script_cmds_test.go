package main

import "github.com/rogpeppe/go-internal/testscript"

// scriptCmds are custom testscript commands (used without exec), such as
// starting the in-process sandbox. Later issues add to this map.
func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){}
}
