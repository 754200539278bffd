package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// run runs lumuctl in-process and returns the exit code and both streams.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), args, Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr})
	return code, stdout.String(), stderr.String()
}

func TestLogFile(t *testing.T) {
	t.Chdir(t.TempDir())
	const path = "logs.txt"
	for i := 1; i <= 2; i++ {
		code, _, stderr := run(t, "--log-file", path, "-vv", "version")
		if code != 0 {
			t.Fatalf("run %d: exit %d, stderr:\n%s", i, code, stderr)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "msg=\"lumuctl starting\""); n != i {
			t.Errorf("after run %d the log file has %d start lines, want %d (appended):\n%s", i, n, i, b)
		}
		if !strings.Contains(stderr, "level=DEBUG") {
			t.Errorf("-vv: stderr has no debug line:\n%s", stderr)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("log file mode = %v, want 0600", got)
	}
}

func TestLogFileRelativeToChdir(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("work", 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "--chdir", "work", "--log-file", "l.log", "version"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if _, err := os.Stat("l.log"); err != nil { // cwd is now work
		t.Errorf("log file not created under --chdir: %v", err)
	}
}

func TestLogLevelDefault(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		name      string
		args      []string
		wantDebug bool
	}{
		{"default warn", []string{"version"}, false},
		{"-v is info", []string{"-v", "version"}, false},
		{"-vv is debug", []string{"-vv", "version"}, true},
		{"--log-level debug", []string{"--log-level", "debug", "version"}, true},
		{"--log-level=error -vv", []string{"--log-level=error", "-v", "-v", "version"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d:\n%s", code, stderr)
			}
			if got := strings.Contains(stderr, "level=DEBUG"); got != tt.wantDebug {
				t.Errorf("debug line shown = %v, want %v; stderr:\n%s", got, tt.wantDebug, stderr)
			}
		})
	}
}

// TestUsageErrors checks the exit code and that the error is printed once.
func TestUsageErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("file", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join("no", "such", "dir")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--bogus", "version"},
			"Error: unknown flag: --bogus\nRun 'lumuctl --help' for usage.\n"},
		{"unknown subcommand flag", []string{"version", "--bogus"},
			"Error: unknown flag: --bogus\nRun 'lumuctl version --help' for usage.\n"},
		{"unknown command", []string{"frobnicate"},
			"Error: unknown command \"frobnicate\" for \"lumuctl\"\nRun 'lumuctl --help' for usage.\n"},
		{"extra argument", []string{"version", "extra"},
			"Error: lumuctl version takes no arguments, got [\"extra\"]\nUsage: lumuctl version [flags]\nRun 'lumuctl version --help' for usage.\n"},
		{"missing argument", []string{"why"},
			"Error: accepts 1 arg(s), received 0\nUsage: lumuctl why HASH [flags]\nRun 'lumuctl why --help' for usage.\n"},
		{"too many arguments", []string{"state", "show", "a", "b"},
			"Error: accepts 1 arg(s), received 2\nUsage: lumuctl state show ADDR [flags]\nRun 'lumuctl state show --help' for usage.\n"},
		{"bad log level", []string{"--log-level", "loud", "version"},
			"Error: invalid --log-level \"loud\": must be one of error, warn, info, debug\n"},
		{"chdir missing", []string{"--chdir", missing, "version"},
			"Error: --chdir " + missing + ": directory does not exist\n"},
		{"chdir to a file", []string{"--chdir", "file", "version"},
			"Error: --chdir file: not a directory\n"},
		{"log file in missing dir", []string{"--log-file", filepath.Join(missing, "x.log"), "version"},
			"Error: --log-file: open " + filepath.Join(missing, "x.log") + ": no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tt.args...)
			if code != ExitError {
				t.Errorf("exit code = %d, want %d", code, ExitError)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if diff := cmp.Diff(tt.want, stderr); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
