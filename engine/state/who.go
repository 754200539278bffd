package state

import (
	"os"
	"os/user"
)

// CurrentUser returns "user@host" for the running process, for audit
// history and lock records. It never fails: unknown parts read "unknown".
func CurrentUser() string {
	name := ""
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		name = os.Getenv("USERNAME")
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}
