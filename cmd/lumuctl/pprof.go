//go:build pprofhook

// Profiling for performance work, compiled only with -tags pprofhook (for
// example GOFLAGS=-tags=pprofhook go run ./cmd/lumuctl-bench ...): when
// LUMUCTL_CPUPROFILE or LUMUCTL_MEMPROFILE name a file, every lumuctl run
// writes that profile there, the file name suffixed with the process id so
// that the runs of one benchmark do not overwrite each other. Release
// builds carry none of it.

package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
)

func init() {
	profile = func() func() {
		name := func(v string) string {
			p := os.Getenv(v)
			if p == "" {
				return ""
			}
			return fmt.Sprintf("%s.%d", p, os.Getpid())
		}
		var cpu *os.File
		if p := name("LUMUCTL_CPUPROFILE"); p != "" {
			f, err := os.Create(p)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				cpu = f
			}
		}
		mem := name("LUMUCTL_MEMPROFILE")
		if mem != "" {
			runtime.MemProfileRate = 64 << 10
		}
		return func() {
			if cpu != nil {
				pprof.StopCPUProfile()
				cpu.Close()
			}
			if mem != "" {
				if f, err := os.Create(mem); err == nil {
					_ = pprof.Lookup("allocs").WriteTo(f, 0)
					f.Close()
				}
			}
		}
	}
}
