package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDocumentedExitCodesAreTested keeps the exit codes of docs/commands.md
// honest: every code in its "Exit codes" table, and every code an example
// in docs/ shows with "echo $?", is produced by an end-to-end script
// ("exit N lumuctl ...") — 130, which needs a signal, by a test that sends
// one (interrupt_test.go, interrupt_plan_test.go).
func TestDocumentedExitCodesAreTested(t *testing.T) {
	cmds, err := os.ReadFile(filepath.Join("..", "..", "docs", "commands.md"))
	if err != nil {
		t.Fatal(err)
	}
	codes := map[int]string{}
	table := string(cmds)
	if i := strings.Index(table, "## Exit codes"); i >= 0 {
		table = table[i:]
		if j := strings.Index(table[3:], "\n## "); j >= 0 {
			table = table[:j+3]
		}
	} else {
		t.Fatal(`docs/commands.md has no "## Exit codes" section`)
	}
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \|`).FindAllStringSubmatch(table, -1) {
		n, _ := strconv.Atoi(m[1])
		codes[n] = "the Exit codes table"
	}
	if len(codes) < 8 {
		t.Fatalf("found %d codes in the Exit codes table, want at least 8", len(codes))
	}
	docs, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	docs = append(docs, filepath.Join("..", "..", "README.md"))
	echo := regexp.MustCompile(`(?m)^\$ echo \$\?\n(\d+)$`)
	for _, d := range docs {
		data, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range echo.FindAllStringSubmatch(string(data), -1) {
			n, _ := strconv.Atoi(m[1])
			codes[n] = "an example in " + filepath.Base(d)
		}
	}

	var scripts strings.Builder
	files, _ := filepath.Glob(filepath.Join("testdata", "script", "*.txtar"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scripts.Write(data)
	}
	var signalTests strings.Builder
	for _, f := range []string{"interrupt_test.go", "interrupt_plan_test.go"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		signalTests.Write(data)
	}
	for code, where := range codes {
		var ok bool
		switch code {
		case 0:
			ok = regexp.MustCompile(`(?m)^(exec|exit 0) lumuctl `).MatchString(scripts.String())
		case 1:
			ok = regexp.MustCompile(`(?m)^(! exec|exit 1) lumuctl `).MatchString(scripts.String())
		case 130:
			ok = strings.Contains(signalTests.String(), "syscall.SIGINT") && strings.Contains(signalTests.String(), "code != 130")
		default:
			ok = regexp.MustCompile(`(?m)^(\[[^]]*\] )?exit ` + strconv.Itoa(code) + ` lumuctl `).MatchString(scripts.String())
		}
		if !ok {
			t.Errorf("exit code %d (in %s) is produced by no end-to-end test", code, where)
		}
	}
}
