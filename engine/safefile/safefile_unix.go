//go:build unix

package safefile

import (
	"errors"
	"os"
	"syscall"
)

const (
	noFollow = syscall.O_NOFOLLOW
	nonBlock = syscall.O_NONBLOCK
)

// isLoop reports the error an O_NOFOLLOW open of a symbolic link gets
// (ELOOP on Linux and the BSDs; EMLINK on some older systems).
func isLoop(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}

// clearNonBlock puts a regular file back into blocking mode (it makes no
// difference for regular files, but keeps the descriptor ordinary).
func clearNonBlock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.SetNonblock(int(fd), false) }); err != nil {
		return err
	}
	return serr
}
