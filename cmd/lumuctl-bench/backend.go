package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
	"github.com/lumuctl/lumuctl/engine/state/pgstore/pgtest"
)

// backendTargetRatio is issue 13's bound: plan and apply with the
// PostgreSQL backend take at most 1.5 times the bbolt file's time.
const backendTargetRatio = 1.5

// backendRow is one backend of measurement 6.
type backendRow struct {
	Backend   string  `json:"backend"`
	ColdPlan  seconds `json:"cold_plan_s"`
	WarmPlan  seconds `json:"warm_plan_s"`
	Apply     seconds `json:"apply_s"`
	Writes    int     `json:"kibana_writes"`
	StateSize int64   `json:"state_bytes"` // the state file, or the schema's tables
	Rows      int64   `json:"rows,omitempty"`
}

// benchBackend is measurement 6: the large scenario planned (cold, then
// warm to a plan file) and applied with the local bbolt files and with the
// PostgreSQL backend (a throwaway server started here, loopback, with
// fsync on), each against a fresh sandbox of the same seed.
func benchBackend(ctx context.Context, o options, bin, tmp string, r *results) error {
	logf("backend: starting a throwaway PostgreSQL server")
	cl, err := pgtest.StartOptions(pgtest.Options{Durable: true})
	if err != nil {
		return err
	}
	defer cl.Stop()
	for _, backend := range []string{"bbolt", "postgres"} {
		row, err := benchOneBackend(ctx, o, bin, tmp, backend, cl)
		if err != nil {
			return fmt.Errorf("%s: %w", backend, err)
		}
		r.Backends = append(r.Backends, row)
	}
	b, p := r.Backends[0], r.Backends[1]
	for _, c := range []struct {
		name     string
		bolt, pg seconds
	}{{"warm plan", b.WarmPlan, p.WarmPlan}, {"apply", b.Apply, p.Apply}} {
		ratio := time.Duration(c.pg).Seconds() / time.Duration(c.bolt).Seconds()
		if ratio > backendTargetRatio {
			r.Failed = append(r.Failed, fmt.Sprintf("backend: %s with PostgreSQL %.2f× the bbolt time (target ≤ %.1f×)", c.name, ratio, backendTargetRatio))
		}
	}
	return nil
}

func benchOneBackend(ctx context.Context, o options, bin, tmp, backend string, cl *pgtest.Cluster) (backendRow, error) {
	row := backendRow{Backend: backend}
	sb, err := sandbox.Start(ctx, sandbox.Options{Scenario: lumusim.ScenarioLarge, Seed: o.seed})
	if err != nil {
		return row, err
	}
	defer sb.Close()
	cfg := configParams{
		HashTypes: []string{"sha256", "sha1", "md5"}, AdversaryTypes: lumusim.AdversaryTypes,
		Statuses: []string{"open", "closed"}, Days: 30, OnlyActive: true,
		OSTypes: []string{"windows", "macos", "linux"}, MaxValues: 1000,
	}
	name := "backend-" + backend
	schema := "bench_" + fmt.Sprint(time.Now().UnixNano())
	if backend == "postgres" {
		os.Setenv("LUMUCTL_VAR_state_url", cl.URL())
		defer os.Unsetenv("LUMUCTL_VAR_state_url")
		cfg.PGSchema = schema
	}
	ws, err := newWorkspace(ctx, bin, tmp, name, sb.Info(), cfg)
	if err != nil {
		return row, err
	}
	logf("backend %s: cold plan", backend)
	res, err := ws.run(ctx, "plan-cold", "plan")
	if err != nil {
		return row, err
	}
	row.ColdPlan = seconds(res.Wall)
	// The warm plan three times, its median: one run of about 2 s on a
	// shared 2-core machine moved the ratio by ±0.4.
	planFile := filepath.Join(ws.dir, "bench.plan")
	var walls []float64
	for i := range 3 {
		logf("backend %s: warm plan %d/3", backend, i+1)
		if res, err = ws.run(ctx, fmt.Sprintf("plan-warm-%d", i+1), "plan", "--out", planFile); err != nil {
			return row, err
		}
		walls = append(walls, res.Wall.Seconds())
	}
	row.WarmPlan = seconds(time.Duration(median(walls) * float64(time.Second)))
	sb.Kibana.ResetCounters()
	logf("backend %s: apply", backend)
	if res, err = ws.run(ctx, "apply", "apply", planFile); err != nil {
		return row, err
	}
	row.Apply = seconds(res.Wall)
	row.Writes = sb.Kibana.Counters().Writes()
	if backend == "postgres" {
		row.StateSize, row.Rows, err = schemaSize(ctx, cl.URL(), schema)
		return row, err
	}
	fi, err := os.Stat(filepath.Join(ws.dir, ".lumuctl", "state.db"))
	if err != nil {
		return row, err
	}
	row.StateSize = fi.Size()
	return row, nil
}

// schemaSize sums the rows and pg_total_relation_size of every table of
// schema except the Lumu cache (the bbolt figure is the state file alone).
func schemaSize(ctx context.Context, url, schema string) (bytes, rows int64, err error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close(ctx)
	for _, t := range []string{"states", "items", "applied", "history", "journal", "prov_incidents", "provenance", "locks"} {
		q := pgx.Identifier{schema, t}.Sanitize()
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+q); err != nil {
			return 0, 0, err
		}
		var n, sz int64
		if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT (SELECT count(*) FROM %s), pg_total_relation_size('%s')", q, strings.ReplaceAll(q, "'", "''"))).Scan(&n, &sz); err != nil {
			return 0, 0, err
		}
		bytes += sz
		rows += n
	}
	return bytes, rows, nil
}

func printBackends(w io.Writer, r *results) {
	if len(r.Backends) == 0 {
		return
	}
	fmt.Fprintf(w, "\n6. state backends, large scenario (PostgreSQL on loopback, fsync on; target ≤ %.1f× bbolt)\n\n", backendTargetRatio)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "backend\tcold plan\twarm plan\tapply\twrites\tstate size\trows\t")
	for _, x := range r.Backends {
		fmt.Fprintf(tw, "%s\t%.2f s\t%.2f s\t%.2f s\t%d\t%.1f MB\t%d\t\n", x.Backend, time.Duration(x.ColdPlan).Seconds(),
			time.Duration(x.WarmPlan).Seconds(), time.Duration(x.Apply).Seconds(), x.Writes, float64(x.StateSize)/1e6, x.Rows)
	}
	tw.Flush()
	if len(r.Backends) == 2 {
		b, p := r.Backends[0], r.Backends[1]
		fmt.Fprintf(w, "   PostgreSQL / bbolt: warm plan %.2f×, apply %.2f×\n",
			time.Duration(p.WarmPlan).Seconds()/time.Duration(b.WarmPlan).Seconds(), time.Duration(p.Apply).Seconds()/time.Duration(b.Apply).Seconds())
	}
}
