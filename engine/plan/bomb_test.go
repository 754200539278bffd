package plan

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// A crafted plan file that inflates a thousandfold is refused once its
// body passes the ratio limit, long before MaxBodySize: the decoder stops
// reading after about minBodyLimit bytes of it (before the limit, this
// 96 MiB body was read whole and then refused as malformed JSON).
func TestDecodeRefusesGzipBomb(t *testing.T) {
	var file bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&file, gzip.BestCompression)
	io.WriteString(zw, `{"format_version":3,"plan_digest":"sha256:`+strings.Repeat("0", 64)+`"}`+"\n")
	zeros := make([]byte, 1<<20)
	for range 96 { // 96 MiB of zeros: about 100 KB compressed
		zw.Write(zeros)
	}
	zw.Close()
	if bodyLimit(file.Len()) >= MaxBodySize/4 {
		t.Fatalf("a %d-byte file may inflate to %d bytes", file.Len(), bodyLimit(file.Len()))
	}
	_, err := Decode(bytes.NewReader(file.Bytes()))
	if !IsDecodeError(err) || !strings.Contains(err.Error(), "decompresses to more than") {
		t.Fatalf("err = %v, want a refusal of the inflated size", err)
	}
}

// The ratio limit leaves room for every plan lumuctl writes: random hex
// compresses about 2.5 to 1, and the floor covers small files.
func TestBodyLimit(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, minBodyLimit},
		{1 << 20, minBodyLimit},
		{7 << 20, 7 << 20 * maxRatio},
		{MaxFileSize, MaxBodySize},
	} {
		if got := bodyLimit(c.n); got != c.want {
			t.Errorf("bodyLimit(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}
