package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lumuctl/lumuctl/engine/state/pgstore/pgtest"
)

// fileBackendOnly are e2e scripts TestScriptPostgres does not run, each
// because its subject is the local state or cache file itself (or it uses
// no sandbox configuration); the PostgreSQL equivalents are in the
// e2e_postgres* scripts.
var fileBackendOnly = map[string]string{
	"e2e_badfiles.txtar":        "damaged state and cache files",
	"e2e_first_apply.txtar":     "checks the state and cache files init creates",
	"e2e_lock.txtar":            "the file lock (e2e_postgres: the advisory lock)",
	"e2e_outage.txtar":          "reads the local cache file",
	"e2e_plan_readonly.txtar":   "compares the state file before and after",
	"e2e_secrets.txtar":         "scans the local state and cache files",
	"e2e_state_cmds.txtar":      "the state file's backup",
	"e2e_state_namespace.txtar": "a state file from another namespace",
	"e2e_state_sync.txtar":      "copies state files",
	"e2e_symlinks.txtar":        "file modes and symbolic links",
	"e2e_wrong_base.txtar":      "checks the state file",
}

// TestScriptPostgres runs the other end-to-end scripts that use the sandbox
// configuration with the PostgreSQL backend (SPEC 10): $EXAMPLES points to
// a copy of examples/ whose sandbox configuration has a backend
// "postgres" block, each script in a schema of its own.
func TestScriptPostgres(t *testing.T) {
	all, err := filepath.Glob(filepath.Join("testdata", "script", "e2e_*.txtar"))
	if err != nil || len(all) == 0 {
		t.Fatalf("no e2e scripts: %v", err)
	}
	var files []string
	excluded := 0
	for _, f := range all {
		base := filepath.Base(f)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case fileBackendOnly[base] != "":
			excluded++
		case strings.HasPrefix(base, "e2e_postgres"):
		case strings.Contains(string(data), "$EXAMPLES/sandbox/main.lumu.hcl"):
			files = append(files, f)
		}
	}
	if excluded != len(fileBackendOnly) {
		t.Fatalf("fileBackendOnly names %d scripts, %d exist: keep the list in step with testdata/script", len(fileBackendOnly), excluded)
	}
	pgOnce.Do(func() { pgCluster, pgErr = pgtest.Start() })
	if pgErr != nil {
		t.Fatalf("pg: %v", pgErr)
	}
	examples := t.TempDir()
	if err := os.CopyFS(examples, os.DirFS(examplesDir)); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(examples, "sandbox", "main.lumu.hcl")
	src, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if !sandboxSettingsRE.Match(src) {
		t.Fatalf("examples/sandbox/main.lumu.hcl has no settings block `namespace = \"demo\"` to rewrite")
	}
	block := strings.Replace(pgBackendBlock("SCHEMA"), `schema = "SCHEMA"`, `schema = var.pg_schema`, 1)
	block = `variable "pg_schema" {
  type = string
}

` + block
	src = sandboxSettingsRE.ReplaceAll(src, []byte(block))
	if err := os.WriteFile(cfgPath, src, 0o600); err != nil {
		t.Fatal(err)
	}
	p := scriptParams(t)
	p.Dir = ""
	p.Files = files
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		pgMu.Lock()
		pgSchemas++
		schema := fmt.Sprintf("all%d", pgSchemas)
		pgMu.Unlock()
		env.Setenv("EXAMPLES", examples)
		env.Setenv("LUMUCTL_VAR_pg_url", pgURL())
		env.Setenv("LUMUCTL_VAR_pg_schema", schema)
		env.Setenv("PG_SCHEMA", schema)
		return nil
	}
	// Once every script ran (cleanups run after the parallel subtests):
	// most of them applied, so most schemas hold a state: the scripts did
	// run on PostgreSQL, not on a file.
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgCluster.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'all%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d of %d scripts created their schema", n, len(files))
		if n < len(files)/2 {
			t.Errorf("only %d of %d scripts created their schema: the backend block was not used", n, len(files))
		}
	})
	testscript.Run(t, p)
}
