package cli

import (
	"io"
	"os"
)

// color reports whether output written to w may use ANSI colour: only when
// w is a terminal, --no-color is not set, NO_COLOR is
// empty or unset (https://no-color.org) and TERM is not "dumb". Views call
// it once per stream.
func (g *globals) color(w io.Writer) bool {
	if g.noColor || g.env("NO_COLOR") != "" || g.env("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is an *os.File attached to a terminal. A
// character device is not enough: /dev/null is one, and standard input is
// /dev/null under systemd and in many CI runners (see isTTY).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	return isTTY(f)
}

// env reads an environment variable through g.getenv (os.Getenv when unset).
func (g *globals) env(key string) string {
	if g.getenv == nil {
		return os.Getenv(key)
	}
	return g.getenv(key)
}
