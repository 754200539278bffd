package cli

import (
	"bytes"
	"os"
	"testing"
)

// TestIsTerminalRejectsDevNull: /dev/null is a character device, and it is
// standard input under systemd; it must not count as a terminal, nor must a
// pipe, a regular file or a buffer.
func TestIsTerminalRejectsDevNull(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	file, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if tty := openPTY(t); !isTerminal(tty) {
		t.Errorf("isTerminal(pseudo-terminal) = false")
	}
	for name, x := range map[string]any{"/dev/null": null, "pipe": r, "file": file, "buffer": &bytes.Buffer{}, "nil file": (*os.File)(nil)} {
		if isTerminal(x) {
			t.Errorf("isTerminal(%s) = true", name)
		}
	}
}
