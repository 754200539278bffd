package safefile

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// plant makes dir/name a symbolic link to a victim file and returns the
// victim's path; the victim holds "precious".
func plant(t *testing.T, dir, name string) string {
	t.Helper()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	return victim
}

func checkVictim(t *testing.T, victim string) {
	t.Helper()
	data, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "precious" {
		t.Fatalf("the link's target was written: %q", data)
	}
}

func wantLinkError(t *testing.T, err error, path string) {
	t.Helper()
	if !IsNotRegular(err) {
		t.Fatalf("err = %v, want a NotRegularError", err)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("error does not name the path and the link: %v", err)
	}
}

func TestOpenFileRefusesSymlink(t *testing.T) {
	for _, flag := range []int{os.O_RDWR | os.O_CREATE, os.O_WRONLY | os.O_CREATE | os.O_TRUNC, os.O_WRONLY | os.O_APPEND | os.O_CREATE, os.O_RDONLY} {
		dir := t.TempDir()
		victim := plant(t, dir, "state.db.lock")
		path := filepath.Join(dir, "state.db.lock")
		f, err := OpenFile(path, flag, 0o600)
		if err == nil {
			f.Close()
		}
		wantLinkError(t, err, path)
		checkVictim(t, victim)
		if fi, _ := os.Stat(victim); fi.Mode().Perm() != 0o644 {
			t.Fatalf("victim mode changed to %v", fi.Mode())
		}
	}
}

func TestOpenFileRefusesDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	target := filepath.Join(dir, "elsewhere")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	_, err := Create(path, 0o600)
	wantLinkError(t, err, path)
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("the dangling link's target was created: %v", err)
	}
}

func TestOpenFileRefusesFIFOAndDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Fatal("this test needs mkfifo; the package's Unix path is what it checks")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := OpenFile(fifo, os.O_RDWR|os.O_CREATE, 0o600)
	if !IsNotRegular(err) || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("fifo: err = %v", err)
	}
	_, err = OpenFile(dir, os.O_RDONLY, 0o600)
	if !IsNotRegular(err) || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("directory: err = %v", err)
	}
}

func TestOpenFileSetsModeOfExistingFile(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "events.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v, want 0600", fi.Mode())
	}
	// A new file under umask 000 is 0600 too.
	f, err = Create(filepath.Join(dir, "new"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(filepath.Join(dir, "new")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("new file mode = %v, want 0600", fi.Mode())
	}
	// A read-only open changes nothing.
	os.Chmod(path, 0o640)
	f, err = OpenFile(path, os.O_RDONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Fatalf("read-only open changed the mode to %v", fi.Mode())
	}
}

func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	victim := plant(t, dir, "plan.out")
	path := filepath.Join(dir, "plan.out")
	wantLinkError(t, WriteAtomic(path, []byte("x"), 0o600), path)
	checkVictim(t, victim)
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v %v", fi, err)
	}

	p2 := filepath.Join(dir, "md")
	if err := os.WriteFile(p2, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(p2, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p2)
	fi, _ := os.Stat(p2)
	if string(data) != "new" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("got %q mode %v", data, fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
}

func TestRewrite(t *testing.T) {
	dir := t.TempDir()
	victim := plant(t, dir, "main.lumu.hcl")
	path := filepath.Join(dir, "main.lumu.hcl")
	wantLinkError(t, Rewrite(path, []byte("x")), path)
	checkVictim(t, victim)

	p2 := filepath.Join(dir, "real.lumu.hcl")
	if err := os.WriteFile(p2, []byte("old old old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rewrite(p2, []byte("new")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p2)
	fi, _ := os.Stat(p2)
	if string(data) != "new" || fi.Mode().Perm() != 0o644 {
		t.Fatalf("got %q mode %v, want the user's mode kept", data, fi.Mode())
	}
}
