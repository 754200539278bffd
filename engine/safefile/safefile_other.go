//go:build !unix

package safefile

import "os"

const (
	noFollow = 0
	nonBlock = 0
)

func isLoop(error) bool { return false }

func clearNonBlock(*os.File) error { return nil }
