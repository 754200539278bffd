package plan

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"testing"
)

// unpackFile splits a plan file into its header line and body.
func unpackFile(tb testing.TB, data []byte) (head, body []byte) {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	head, body, ok := bytes.Cut(raw, []byte("\n"))
	if !ok {
		tb.Fatal("no header line")
	}
	return head, body
}

// packFile builds a plan file from a header line and a body, as Encode
// lays them out.
func packFile(tb testing.TB, head, body []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(head)
	zw.Write([]byte("\n"))
	zw.Write(body)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// resealBody packs body under a header whose digest matches it.
func resealBody(tb testing.TB, body []byte) []byte {
	tb.Helper()
	head, err := json.Marshal(fileHeader{FormatVersion: FormatVersion, Digest: digestOf(body)})
	if err != nil {
		tb.Fatal(err)
	}
	return packFile(tb, head, body)
}

// editBody decodes the body of a plan file into its file form, lets edit
// change it and re-seals the result (the digest matches: only Decode's
// other checks can refuse it).
func editBody(tb testing.TB, data []byte, edit func(fb *fileBody)) []byte {
	tb.Helper()
	_, body := unpackFile(tb, data)
	var fb fileBody
	if err := json.Unmarshal(body, &fb); err != nil {
		tb.Fatal(err)
	}
	edit(&fb)
	out, err := json.Marshal(&fb)
	if err != nil {
		tb.Fatal(err)
	}
	return resealBody(tb, append(out, '\n'))
}

// gzipRaw compresses data as is.
func gzipRaw(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
