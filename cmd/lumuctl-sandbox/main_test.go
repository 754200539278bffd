package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

// TestServeBinary builds the command, runs `serve --scenario small`, reads
// its JSON line, lists incidents over real HTTP and stops it with SIGTERM.
func TestServeBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "lumuctl-sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve", "--scenario", "small", "--seed", "4")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	rd := bufio.NewReader(stdout)
	line, err := rd.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read ready line: %v (stderr %s)", err, stderr.String())
	}
	var info sandbox.Info
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&info); err != nil {
		t.Fatalf("ready line %s: %v", line, err)
	}
	if info.LumuURL == "" || info.KibanaURL == "" || info.ControlURL == "" || info.LumuKey == "" || info.KibanaAPIKey == "" || info.CompanyUUID == "" || len(info.PolicyIDs) != 3 {
		t.Fatalf("ready line has empty fields: %s", line)
	}

	resp, err := http.Post(info.LumuURL+"/api/incidents/all?page=1&items=20&key="+info.LumuKey, "application/json", strings.NewReader(`{"status":["open","closed"]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var page struct {
		Items          []struct{ Status string } `json:"items"`
		PaginationInfo struct{ Page, Items, Next int }
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &page) != nil || len(page.Items) != 20 || page.PaginationInfo.Next != 2 {
		t.Fatalf("list: %d %s", resp.StatusCode, body)
	}
	for _, it := range page.Items {
		if it.Status == "muted" {
			t.Errorf("status filter not applied: %s", body)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v (stderr %s)", err, stderr.String())
	}
	if rest, _ := io.ReadAll(rd); len(rest) != 0 {
		t.Errorf("stdout after the ready line: %q, want nothing", rest)
	}
	if strings.Contains(stderr.String(), info.LumuKey) {
		t.Errorf("stderr leaks the Lumu key")
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"start"}, 2, "unknown command"},
		{"help", []string{"help"}, 0, ""},
		{"non-loopback address", []string{"serve", "--lumu-addr", "0.0.0.0:0"}, 1, "loopback"},
		{"unknown scenario", []string{"serve", "--scenario", "huge"}, 1, "unknown scenario"},
		{"unknown flag", []string{"serve", "--port", "1"}, 2, "flag provided but not defined"},
		{"extra argument", []string{"serve", "now"}, 2, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, &out, &errb)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tt.wantCode, errb.String())
			}
			if !strings.Contains(errb.String(), tt.wantErr) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.wantErr)
			}
			if tt.name == "help" && !strings.Contains(out.String(), "--scenario") && !strings.Contains(out.String(), "-scenario") {
				t.Errorf("help does not list the flags: %s", out.String())
			}
		})
	}
}
