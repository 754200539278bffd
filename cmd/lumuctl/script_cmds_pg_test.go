package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/pgstore"
	"github.com/lumuctl/lumuctl/engine/state/pgstore/pgtest"
)

// The scripts' PostgreSQL server: one throwaway cluster for the package,
// started by the first script that uses `pg` and stopped after the tests.
var (
	pgOnce    sync.Once
	pgCluster *pgtest.Cluster
	pgErr     error
	pgSchemas int
	pgMu      sync.Mutex
	pgHeld    = map[string]state.Writer{} // by $WORK
	pgCuts    = map[string]chan string{}  // by $WORK
)

// pgPassword is put into the scripts' URL (the test server trusts
// loopback, so it is never checked): no output may ever show it.
const pgPassword = "pgS3cretPw"

// withPostgres stops the scripts' cluster after the tests.
type withPostgres struct{ m interface{ Run() int } }

func (w withPostgres) Run() int {
	code := w.m.Run()
	if pgCluster != nil {
		if err := pgCluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// pgBackendBlock is the settings block of examples/sandbox with the
// PostgreSQL backend in schema.
func pgBackendBlock(schema string) string {
	return `variable "pg_url" {
  sensitive = true
}

settings {
  namespace = "demo"
  backend "postgres" {
    url    = var.pg_url
    schema = "` + schema + `"
  }
}`
}

var sandboxSettingsRE = regexp.MustCompile(`(?s)settings \{\n  namespace = "demo"\n\}`)

// usePostgres switches an e2e world (crash loop, fault matrix) to the
// PostgreSQL backend in a schema of its own, starting the package's
// cluster if needed.
func usePostgres(t *testing.T, e *e2e) {
	t.Helper()
	pgOnce.Do(func() { pgCluster, pgErr = pgtest.Start() })
	if pgErr != nil {
		t.Fatalf("pg: %v", pgErr)
	}
	pgMu.Lock()
	pgSchemas++
	schema := fmt.Sprintf("e2e%d", pgSchemas)
	pgMu.Unlock()
	path := filepath.Join(e.dir, "main.lumu.hcl")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sandboxSettingsRE.Match(src) {
		t.Fatalf("%s has no settings block `namespace = \"demo\"` to rewrite", path)
	}
	src = sandboxSettingsRE.ReplaceAll(src, []byte(pgBackendBlock(schema)))
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	e.env = append(e.env, "LUMUCTL_VAR_pg_url="+pgURL())
	pgMu.Lock()
	pgE2ESchemas[e] = schema
	pgMu.Unlock()
}

// pgE2ESchemas is the schema of each e2e world usePostgres switched.
var pgE2ESchemas = map[*e2e]string{}

// pgClearCache empties the Lumu cache of an e2e world on PostgreSQL.
func pgClearCache(t *testing.T, e *e2e) {
	t.Helper()
	pgMu.Lock()
	schema := pgE2ESchemas[e]
	pgMu.Unlock()
	if schema == "" {
		t.Fatal("pgClearCache: not a PostgreSQL world")
	}
	pgCluster.Exec(t, "DELETE FROM "+pgx.Identifier{schema, "cache"}.Sanitize())
}

func pgURL() string {
	return strings.Replace(pgCluster.URL(), "lumuctl@", "lumuctl:"+pgPassword+"@", 1)
}

// cmdPG:
//
//	pg config [FILE]
//	    starts the package's PostgreSQL cluster if needed and rewrites the
//	    settings block of FILE (default main.lumu.hcl) to use backend
//	    "postgres" in a schema of this script's own (PG_SCHEMA); the URL,
//	    with a password (PG_PASSWORD), comes from LUMUCTL_VAR_pg_url.
//	pg holdlock [COMMAND]
//	    takes the namespace "demo" write lock in the test process until the
//	    script ends or `pg unlock`; sets HOLDER_PID, HOLDER_WHO, HOLDER_STARTED.
//	pg unlock
//	pg cutafter N
//	    in the background: once Kibana has seen N item writes and a run
//	    holds the namespace "demo" lock, terminates that run's session
//	    (pg_terminate_backend), as a lost connection would.
//	pg cutdone
//	    waits for cutafter and prints "cut after W writes".
//	pg query SQL
//	    runs SQL (%s is the schema) and prints each row, columns
//	    separated by spaces.
func cmdPG(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: pg config|holdlock|unlock|query ARGS...")
	}
	pgOnce.Do(func() { pgCluster, pgErr = pgtest.Start() })
	if pgErr != nil {
		ts.Fatalf("pg: %v", pgErr)
	}
	switch args[0] {
	case "config":
		file := "main.lumu.hcl"
		if len(args) > 1 {
			file = args[1]
		}
		schema := ts.Getenv("PG_SCHEMA")
		if schema == "" {
			pgMu.Lock()
			pgSchemas++
			schema = fmt.Sprintf("script%d", pgSchemas)
			pgMu.Unlock()
		}
		src := ts.ReadFile(file)
		if !sandboxSettingsRE.MatchString(src) {
			ts.Fatalf("pg config: %s has no settings block `namespace = \"demo\"` to rewrite", file)
		}
		src = sandboxSettingsRE.ReplaceAllString(src, pgBackendBlock(schema))
		ts.Check(os.WriteFile(ts.MkAbs(file), []byte(src), 0o600))
		ts.Setenv("LUMUCTL_VAR_pg_url", pgURL())
		ts.Setenv("PG_SCHEMA", schema)
		ts.Setenv("PG_PASSWORD", pgPassword)
		ts.Setenv("PG_PORT", strconv.Itoa(pgCluster.Port()))
	case "holdlock":
		command := "apply"
		if len(args) > 1 {
			command = args[1]
		}
		s, err := pgstore.New(pgstore.Options{URL: pgURL(), Schema: ts.Getenv("PG_SCHEMA"), Namespace: "demo"})
		ts.Check(err)
		w, err := s.Lock(context.Background(), state.LockOptions{Command: command})
		ts.Check(err)
		work := ts.Getenv("WORK")
		pgMu.Lock()
		pgHeld[work] = w
		pgMu.Unlock()
		ts.Defer(func() { _ = w.Unlock(); _ = s.Close() })
		info := w.Info()
		started := info.Started.Format(time.RFC3339)
		ts.Setenv("HOLDER_PID", strconv.Itoa(info.PID))
		ts.Setenv("HOLDER_WHO", regexp.QuoteMeta(info.Who))
		ts.Setenv("HOLDER_STARTED", regexp.QuoteMeta(started))
		fmt.Fprintf(ts.Stdout(), "pid=%d who=%s command=%s started=%s\n", info.PID, info.Who, info.Command, started)
	case "unlock":
		pgMu.Lock()
		w := pgHeld[ts.Getenv("WORK")]
		delete(pgHeld, ts.Getenv("WORK"))
		pgMu.Unlock()
		if w == nil {
			ts.Fatalf("pg unlock: no lock held by this script")
		}
		ts.Check(w.Unlock())
	case "cutafter":
		if len(args) != 2 {
			ts.Fatalf("usage: pg cutafter N")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		sb := safetySandbox(ts)
		schema := pgx.Identifier{ts.Getenv("PG_SCHEMA")}.Sanitize()
		done := make(chan string, 1)
		pgMu.Lock()
		pgCuts[ts.Getenv("WORK")] = done
		pgMu.Unlock()
		go func() {
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, pgCluster.URL())
			if err != nil {
				done <- "error: " + err.Error()
				return
			}
			defer conn.Close(ctx)
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if w := sb.Kibana.Counters().Writes(); w >= n {
					var cut bool
					err := conn.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(backend_pid, 10000)), false) FROM `+schema+
						`.locks WHERE namespace = 'demo' AND backend_pid IN (SELECT pid FROM pg_stat_activity)`).Scan(&cut)
					if err != nil {
						done <- "error: " + err.Error()
						return
					}
					if cut {
						done <- fmt.Sprintf("cut after %d writes", w)
						return
					}
				}
				time.Sleep(2 * time.Millisecond)
			}
			done <- "error: nothing to cut after 30s"
		}()
	case "cutdone":
		pgMu.Lock()
		done := pgCuts[ts.Getenv("WORK")]
		pgMu.Unlock()
		if done == nil {
			ts.Fatalf("pg cutdone: no pg cutafter in this script")
		}
		msg := <-done
		if strings.HasPrefix(msg, "error: ") {
			ts.Fatalf("pg cutafter: %s", msg)
		}
		fmt.Fprintln(ts.Stdout(), msg)
	case "query":
		if len(args) != 2 {
			ts.Fatalf("usage: pg query SQL")
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, pgCluster.URL())
		ts.Check(err)
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, strings.ReplaceAll(args[1], "%s", pgx.Identifier{ts.Getenv("PG_SCHEMA")}.Sanitize()), pgx.QueryExecModeSimpleProtocol)
		ts.Check(err)
		for rows.Next() {
			vals, err := rows.Values()
			ts.Check(err)
			parts := make([]string, len(vals))
			for i, v := range vals {
				parts[i] = fmt.Sprint(v)
			}
			fmt.Fprintln(ts.Stdout(), strings.Join(parts, " "))
		}
		ts.Check(rows.Err())
	default:
		ts.Fatalf("pg: unknown subcommand %q", args[0])
	}
}
