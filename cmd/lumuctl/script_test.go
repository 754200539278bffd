package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli"
)

var update = flag.Bool("update", false, "rewrite testscript files with actual output")

func TestMain(m *testing.M) {
	testscript.Main(withPostgres{m}, map[string]func(){
		"lumuctl": func() { os.Exit(cli.Main()) },
	})
}

// TestScript runs the end-to-end CLI scripts in testdata/script. Each script
// gets a fresh working directory; `exec lumuctl ...` runs the real CLI.
func TestScript(t *testing.T) {
	testscript.Run(t, scriptParams(t))
}

// examplesDir is the repository's examples directory (scripts copy
// examples/sandbox from there).
var examplesDir = func() string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		panic(err)
	}
	return dir
}()

func scriptParams(t *testing.T) testscript.Params {
	return testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("EXAMPLES", examplesDir)
			return nil
		},
		Cmds: scriptCmds(),
	}
}
