package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

// buildLumuctl builds ./cmd/lumuctl into dir and returns the binary's path.
func buildLumuctl(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "lumuctl")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lumuctl")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/lumuctl (run lumuctl-bench from the module root): %w", err)
	}
	return bin, nil
}

// configParams fills configTemplate.
type configParams struct {
	HashTypes      []string
	AdversaryTypes []string
	Statuses       []string
	Days           int
	OnlyActive     bool
	OSTypes        []string
	MaxValues      int
	// PGSchema, when set, puts the state and cache in PostgreSQL (URL from
	// LUMUCTL_VAR_state_url) under this schema.
	PGSchema string
}

const benchNamespace, benchBlocklist = "bench", "bench"

// configTemplate is the configuration of every benchmark: one company, one
// filter, one blocklist, no rate limit and a guard that lets churn through.
var configTemplate = template.Must(template.New("config").Funcs(template.FuncMap{"list": hclList}).Parse(`# Written by lumuctl-bench.
variable "lumu_url" {
  type = string
}

variable "lumu_key" {
  type      = string
  sensitive = true
}

variable "company_uuid" {
  type = string
}

variable "kibana_url" {
  type = string
}

variable "kibana_key" {
  type      = string
  sensitive = true
}

{{if .PGSchema}}variable "state_url" {
  type      = string
  sensitive = true
}

{{end}}settings {
  namespace = "` + benchNamespace + `"
{{- if .PGSchema}}
  backend "postgres" {
    url    = var.state_url
    schema = "{{.PGSchema}}"
  }
{{- end}}
}

company "bench" {
  uuid                = var.company_uuid
  defender_key        = var.lumu_key
  api_url             = var.lumu_url
  requests_per_minute = 100000
  # The stand-in has no daily quota; the benchmarks measure reads, not it.
  requests_per_day = 10000000
}

ioc_filter "bench" {
  company         = company.bench
  hash_types      = {{list .HashTypes}}
  adversary_types = {{list .AdversaryTypes}}
  statuses        = {{list .Statuses}}
  days            = {{.Days}}
  only_active     = {{.OnlyActive}}
}

kibana "sandbox" {
  url     = var.kibana_url
  api_key = var.kibana_key
}

blocklist "` + benchBlocklist + `" {
  kibana              = kibana.sandbox
  sources             = [ioc_filter.bench]
  os_types            = {{list .OSTypes}}
  max_values_per_item = {{.MaxValues}}

  guard {
    max_delete_fraction = 1
    max_deletes         = 10000000
  }
}
`))

func hclList(v []string) string {
	q := make([]string, len(v))
	for i, s := range v {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// workspace is one lumuctl working directory bound to one sandbox.
type workspace struct {
	bin string
	dir string
	env []string
}

// newWorkspace writes the configuration into a new directory under parent
// and runs `lumuctl init` there.
func newWorkspace(ctx context.Context, bin, parent, name string, info sandbox.Info, p configParams) (*workspace, error) {
	dir := filepath.Join(parent, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := configTemplate.Execute(&buf, p); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), buf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	ws := &workspace{bin: bin, dir: dir, env: append(os.Environ(),
		"NO_COLOR=1",
		"LUMUCTL_VAR_lumu_url="+info.LumuURL,
		"LUMUCTL_VAR_lumu_key="+info.LumuKey,
		"LUMUCTL_VAR_company_uuid="+info.CompanyUUID,
		"LUMUCTL_VAR_kibana_url="+info.KibanaURL,
		"LUMUCTL_VAR_kibana_key="+info.KibanaAPIKey,
	)}
	if _, err := ws.run(ctx, "init", "init"); err != nil {
		return nil, err
	}
	return ws, nil
}

// runResult is one finished lumuctl run.
type runResult struct {
	Wall      time.Duration
	CPU       time.Duration // user + system time of the process
	MaxRSSKiB int64
	Stdout    string // path of the captured standard output
}

// run runs lumuctl with args in the workspace. Standard output goes to a
// file named after label (plans print every hash); a non-zero exit is an
// error quoting the end of standard error.
func (ws *workspace) run(ctx context.Context, label string, args ...string) (*runResult, error) {
	outPath := filepath.Join(ws.dir, label+".stdout")
	out, err := os.OpenFile(outPath, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	var stderr bytes.Buffer
	// Through a launcher (this program, see launch.go), so that the peak
	// RSS is lumuctl's and not the driver's.
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	report := outPath + ".rusage"
	cmd := exec.CommandContext(ctx, self, append([]string{ws.bin}, args...)...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = ws.dir, append(slices.Clone(ws.env), launchEnv+"="+report), out, &stderr
	err = cmd.Run()
	// Kept next to the standard output, for -keep (and GODEBUG=gctrace=1).
	_ = os.WriteFile(filepath.Join(ws.dir, label+".stderr"), stderr.Bytes(), 0o600)
	if err != nil {
		return nil, fmt.Errorf("lumuctl %s: %w\n%s", strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	rss, cpu, wall, err := readLaunch(report)
	if err != nil {
		return nil, err
	}
	res := &runResult{Wall: wall, Stdout: outPath, CPU: cpu, MaxRSSKiB: rss}
	return res, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// applyComplete is the part of the apply_complete JSON event the
// benchmarks check.
type applyComplete struct {
	Type    string `json:"type"`
	Writes  int    `json:"writes"`
	Errors  int    `json:"errors"`
	Outcome string `json:"outcome"`
}

// readApplyComplete finds the apply_complete event in a JSON-lines file.
func readApplyComplete(path string) (*applyComplete, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var found *applyComplete
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"apply_complete"`)) {
			continue
		}
		var ev applyComplete
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if ev.Type == "apply_complete" {
			found = &ev
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if found == nil {
		return nil, errors.New(path + ": no apply_complete event")
	}
	return found, nil
}
