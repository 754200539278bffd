//go:build !linux

package cli

import (
	"os"
	"testing"
)

// openPTY skips: the tests open a pseudo-terminal on Linux only.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	t.Skip("the terminal tests open a pseudo-terminal on Linux only")
	return nil
}
