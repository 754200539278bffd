package testkit

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
)

// MB is a mebibyte.
const MB = 1 << 20

// HeavyAlloc is the allocation bound above which a hostile-body case is
// skipped under -race (see RaceBuild).
const HeavyAlloc = 64 * MB

// StreamBody writes head, then filler up to total bytes, then tail,
// stopping at the first write error (the client hung up): a body of any
// size without allocating it.
func StreamBody(w http.ResponseWriter, head string, filler byte, total int64, tail string) {
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write([]byte(head)); err != nil {
		return
	}
	chunk := []byte(strings.Repeat(string(filler), 1<<20))
	for sent := int64(len(head)); sent < total; sent += int64(len(chunk)) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
	_, _ = w.Write([]byte(tail))
}

// RaceBuild reports whether the test binary was built with -race: its
// instrumentation roughly doubles what large reads allocate, so cases that
// read hundreds of megabytes measure nothing useful there (and would cost
// over a gigabyte in make test); they run in a plain go test.
func RaceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// AllocDuring returns the bytes allocated (cumulative, so an upper bound
// of the heap growth) while f runs.
func AllocDuring(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// BodyTransport answers every request with Status (200 when zero) and
// Body, without a network, so that fuzz targets drive the real client code
// (paging, size bounds, decoding) at in-memory speed. Calls counts the
// requests; it is not safe for concurrent use.
type BodyTransport struct {
	Status int
	Body   []byte
	Calls  int
}

// RoundTrip implements http.RoundTripper.
func (bt *BodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	bt.Calls++
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	status := bt.Status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {"application/json"}},
		Body:    io.NopCloser(bytes.NewReader(bt.Body)),
		Request: r,
	}, nil
}
