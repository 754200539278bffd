package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
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

// TestScriptKibanaGenerations runs the end-to-end scripts (e2e_*) against
// the other Kibana generations the stand-in emulates (SPEC 12): TestScript
// covers kibanasim.DefaultVersion, this test every other entry of
// kibanasim.Versions. A script's own "sandbox -kibana-version" wins.
func TestScriptKibanaGenerations(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "script", "e2e_*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no e2e scripts: %v", err)
	}
	for _, v := range kibanasim.Versions {
		if v == kibanasim.DefaultVersion {
			continue
		}
		t.Run("kibana-"+v, func(t *testing.T) {
			p := scriptParams(t)
			p.Dir = ""
			p.Files = files
			setup := p.Setup
			p.Setup = func(env *testscript.Env) error {
				env.Setenv("KIBANA_VERSION", v)
				return setup(env)
			}
			testscript.Run(t, p)
		})
	}
}

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
