package cli

import (
	"bytes"
	"io"
	"os"
	"testing"
)

func TestColor(t *testing.T) {
	// A pseudo-terminal is a terminal; /dev/null is a character device but
	// no terminal, and a pipe is neither.
	tty := openPTY(t)
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()

	tests := []struct {
		name    string
		noColor bool
		env     map[string]string
		w       io.Writer
		want    bool
	}{
		{"terminal", false, nil, tty, true},
		{"/dev/null", false, nil, null, false},
		{"--no-color", true, nil, tty, false},
		{"NO_COLOR=1", false, map[string]string{"NO_COLOR": "1"}, tty, false},
		{"NO_COLOR=0 counts too", false, map[string]string{"NO_COLOR": "0"}, tty, false},
		{"NO_COLOR empty", false, map[string]string{"NO_COLOR": ""}, tty, true},
		{"TERM=dumb", false, map[string]string{"TERM": "dumb"}, tty, false},
		{"pipe", false, nil, pw, false},
		{"buffer", false, nil, &bytes.Buffer{}, false},
		{"nil file", false, nil, (*os.File)(nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &globals{noColor: tt.noColor, getenv: func(k string) string { return tt.env[k] }}
			if got := g.color(tt.w); got != tt.want {
				t.Errorf("color() = %v, want %v", got, tt.want)
			}
		})
	}
}
