package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// launchEnv, when set, makes lumuctl-bench a launcher: it runs its
// arguments as a command, waits, and writes the command's peak RSS (KiB),
// user and system CPU and wall time (ns) to the file the variable names.
//
// Why: Linux keeps the high-water RSS of the address space a process
// replaces at exec (exec_mmap → setmax_mm_hiwater_rss), and os/exec starts
// children with CLONE_VM|CLONE_VFORK, so a child's Maxrss is at least the
// RSS of the process that started it. The driver holds whole worlds in its
// in-process stand-ins; a fresh launcher process holds a few MB, so
// lumuctl's figure is its own.
const launchEnv = "LUMUCTL_BENCH_MEASURE"

// launch is main for the launcher; it returns the exit code.
func launch(report string, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "lumuctl-bench launcher: no command")
		return 2
	}
	env := make([]string, 0, len(os.Environ()))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, launchEnv+"=") {
			env = append(env, e)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Env = os.Stdin, os.Stdout, os.Stderr, env
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintf(os.Stderr, "lumuctl-bench launcher: %v\n", err)
		return 2
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	line := fmt.Sprintf("%d %d %d %d\n", rss, cmd.ProcessState.UserTime().Nanoseconds(), cmd.ProcessState.SystemTime().Nanoseconds(), wall.Nanoseconds())
	if werr := os.WriteFile(report, []byte(line), 0o600); werr != nil {
		fmt.Fprintf(os.Stderr, "lumuctl-bench launcher: %v\n", werr)
		return 2
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// readLaunch reads what launch wrote.
func readLaunch(path string) (rssKiB int64, cpu, wall time.Duration, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, err
	}
	var u, s, w int64
	if _, err := fmt.Sscanf(string(b), "%d %d %d %d", &rssKiB, &u, &s, &w); err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return rssKiB, time.Duration(u + s), time.Duration(w), nil
}
