//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package cli

import "os"

// isTTY is true for every character device where lumuctl has no terminal
// ioctl to ask (Windows consoles are character devices; so is NUL, which
// --auto-approve or --input=false covers).
func isTTY(*os.File) bool { return true }
