//go:build pprofhook

// Profiling for performance work, compiled only with -tags pprofhook (for
// example GOFLAGS=-tags=pprofhook go run ./cmd/lumuctl-bench ...): when
// LUMUCTL_CPUPROFILE, LUMUCTL_MEMPROFILE (allocations) or
// LUMUCTL_HEAPPROFILE (the heap in use after the garbage collection that
// found the most live bytes: what the peak RSS is made of) name a file,
// every lumuctl run writes that profile there, the file name suffixed with the process id so
// that the runs of one benchmark do not overwrite each other. Release
// builds carry none of it.

package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"
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
		var stopHeap func()
		if p := name("LUMUCTL_HEAPPROFILE"); p != "" {
			stopHeap = peakHeap(p)
		}
		var stopRSS func()
		if p := name("LUMUCTL_RSSTRACE"); p != "" {
			stopRSS = rssTrace(p)
		}
		return func() {
			if stopRSS != nil {
				stopRSS()
			}
			if stopHeap != nil {
				stopHeap()
			}
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

// sampleEvery calls sample every d until the returned stop, which waits
// for the sample in progress.
func sampleEvery(d time.Duration, sample func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// peakHeap samples the live heap every 10 ms and keeps the heap profile
// taken when it was largest; the returned function writes it to path.
func peakHeap(path string) func() {
	runtime.MemProfileRate = 64 << 10
	var best bytes.Buffer
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var max uint64
	stop := sampleEvery(10*time.Millisecond, func() {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > max {
			max = v
			best.Reset()
			_ = pprof.Lookup("heap").WriteTo(&best, 0)
		}
	})
	return func() {
		stop()
		_ = os.WriteFile(path, best.Bytes(), 0o600)
	}
}

// rssTrace samples the process's resident memory every 5 ms and writes one
// line per sample to path: milliseconds since the start, then RssAnon and
// RssFile of /proc/self/status (anonymous memory: the Go heap; file-backed:
// the binary and the mmapped bbolt files), in KiB.
func rssTrace(path string) func() {
	var out bytes.Buffer
	start := time.Now()
	stop := sampleEvery(5*time.Millisecond, func() {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return
		}
		fmt.Fprintf(&out, "%d", time.Since(start).Milliseconds())
		for _, line := range bytes.Split(b, []byte("\n")) {
			if bytes.HasPrefix(line, []byte("RssAnon:")) || bytes.HasPrefix(line, []byte("RssFile:")) {
				fmt.Fprintf(&out, " %s", bytes.Fields(line)[1])
			}
		}
		out.WriteByte('\n')
	})
	return func() {
		stop()
		_ = os.WriteFile(path, out.Bytes(), 0o600)
	}
}
