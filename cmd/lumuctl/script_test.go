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

// generationIndependent are e2e scripts whose subject never depends on
// the Kibana generation (state backends, locks, files, configuration errors,
// plan-file tampering, network errors): TestScriptKibanaGenerations skips
// them to keep make test short. Every other e2e script runs against all
// three generations.
var generationIndependent = map[string]bool{
	"e2e_postgres.txtar":         true, // PostgreSQL state backend
	"e2e_postgres_faults.txtar":  true,
	"e2e_postgres_runners.txtar": true,
	"e2e_lock.txtar":             true, // state lock
	"e2e_state_cmds.txtar":       true, // state list/show/rm
	"e2e_state_namespace.txtar":  true, // state file namespace check
	"e2e_symlinks.txtar":         true, // file modes and links
	"e2e_stdin.txtar":            true, // configuration from stdin
	"e2e_badfiles.txtar":         true, // configuration errors
	"e2e_connectivity.txtar":     true, // connection errors before any Kibana answer
	"e2e_hostile_plan.txtar":     true, // plan-file tampering, refused before any write
}

// TestScriptKibanaGenerations runs the end-to-end scripts (e2e_*) against
// the other Kibana generations the stand-in emulates (SPEC 12): TestScript
// covers kibanasim.DefaultVersion, this test every other entry of
// kibanasim.Versions, except generationIndependent. A script's own
// "sandbox -kibana-version" wins.
func TestScriptKibanaGenerations(t *testing.T) {
	all, err := filepath.Glob(filepath.Join("testdata", "script", "e2e_*.txtar"))
	if err != nil || len(all) == 0 {
		t.Fatalf("no e2e scripts: %v", err)
	}
	var files []string
	skipped := 0
	for _, f := range all {
		if generationIndependent[filepath.Base(f)] {
			skipped++
			continue
		}
		files = append(files, f)
	}
	if skipped != len(generationIndependent) {
		t.Fatalf("generationIndependent names %d scripts, %d exist: keep the list in step with testdata/script", len(generationIndependent), skipped)
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
