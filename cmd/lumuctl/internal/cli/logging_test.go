package cli

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLogLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    slog.Level
		wantErr string
	}{
		{in: "error", want: slog.LevelError},
		{in: "warn", want: slog.LevelWarn},
		{in: "info", want: slog.LevelInfo},
		{in: "debug", want: slog.LevelDebug},
		{in: "DEBUG", want: slog.LevelDebug},
		{in: " Info ", want: slog.LevelInfo},
		{in: "", wantErr: `invalid --log-level "": must be one of error, warn, info, debug`},
		{in: "warning", wantErr: `invalid --log-level "warning": must be one of error, warn, info, debug`},
		{in: "trace", wantErr: `invalid --log-level "trace": must be one of error, warn, info, debug`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseLogLevel(tt.in)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("parseLogLevel(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseLogLevel(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("parseLogLevel(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRaiseLevel(t *testing.T) {
	tests := []struct {
		name    string
		base    slog.Level
		verbose int
		want    slog.Level
	}{
		{"warn no -v", slog.LevelWarn, 0, slog.LevelWarn},
		{"warn -v", slog.LevelWarn, 1, slog.LevelInfo},
		{"warn -vv", slog.LevelWarn, 2, slog.LevelDebug},
		{"warn -vvv", slog.LevelWarn, 3, slog.LevelDebug},
		{"error -v", slog.LevelError, 1, slog.LevelInfo},
		{"debug -v keeps debug", slog.LevelDebug, 1, slog.LevelDebug},
		{"info -vv", slog.LevelInfo, 2, slog.LevelDebug},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := raiseLevel(tt.base, tt.verbose); got != tt.want {
				t.Errorf("raiseLevel(%v, %d) = %v, want %v", tt.base, tt.verbose, got, tt.want)
			}
		})
	}
}

func TestScrubSecrets(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no secret", "GET /api/incidents/open 200", "GET /api/incidents/open 200"},
		{"query key first", "https://defender.lumu.io/api/incidents/all?key=s3cr3t&page=2",
			"https://defender.lumu.io/api/incidents/all?key=REDACTED&page=2"},
		{"query key last", "/api/incidents?page=2&key=s3cr3t", "/api/incidents?page=2&key=REDACTED"},
		{"struct rendering", "{URL:/x?key=s3cr3t}", "{URL:/x?key=REDACTED}"},
		{"query key with fragment", "/x?key=s3cr3t#top", "/x?key=REDACTED#top"},
		{"api_key", "/x?api_key=s3cr3t", "/x?api_key=REDACTED"},
		{"upper case", "/x?KEY=s3cr3t", "/x?KEY=REDACTED"},
		{"raw query", "key=s3cr3t&items=50", "key=REDACTED&items=50"},
		{"quoted url", `Get "https://h/x?key=s3cr3t": dial tcp`, `Get "https://h/x?key=REDACTED": dial tcp`},
		{"two urls", "a?key=one b?key=two", "a?key=REDACTED b?key=REDACTED"},
		{"other param ending in key is kept", "/x?monkey=banana", "/x?monkey=banana"},
		{"header apikey", "Authorization: ApiKey c2VjcmV0", "Authorization: ApiKey REDACTED"},
		{"header bearer", "authorization=Bearer tok.en.x", "authorization=Bearer REDACTED"},
		{"header no scheme", "Authorization: s3cr3t next", "Authorization: REDACTED next"},
		{"header in map", "map[Authorization:[ApiKey c2VjcmV0] Kbn-Xsrf:[true]]",
			"map[Authorization:[ApiKey REDACTED] Kbn-Xsrf:[true]]"},
		{"header json", `{"Authorization":"ApiKey c2VjcmV0"}`, `{"Authorization":"ApiKey REDACTED"}`},
		{"postgres url", "dial postgres://ci:s3cr3t@db:5432/lumu?sslmode=require", "dial postgres://ci:REDACTED@db:5432/lumu?sslmode=require"},
		{"postgresql url without password", "postgresql://ci@db/lumu", "postgresql://ci@db/lumu"},
		{"libpq password", "host=db password=s3cr3t dbname=lumu", "host=db password=REDACTED dbname=lumu"},
		{"libpq quoted password", "host=db password='s3 cr3t' dbname=lumu", "host=db password=REDACTED dbname=lumu"},
		{"password parameter", "postgres://db/lumu?password=s3cr3t&x=1", "postgres://db/lumu?password=REDACTED&x=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, scrubSecrets(tt.in)); diff != "" {
				t.Errorf("scrubSecrets(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// TestLoggerScrubs logs credentials through every kind of attribute and
// checks that none reaches either output.
func TestLoggerScrubs(t *testing.T) {
	const secret = "s3cr3tvalue"
	u, _ := url.Parse("https://defender.lumu.io/api/incidents?key=" + secret)
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		want string // substring expected in the output
	}{
		{"message", func(l *slog.Logger) { l.Warn("GET /x?key=" + secret) }, "msg=\"GET /x?key=REDACTED\""},
		{"string attr", func(l *slog.Logger) { l.Warn("req", "url", "/x?key="+secret) }, `url="/x?key=REDACTED"`},
		{"url attr", func(l *slog.Logger) { l.Warn("req", "url", u) }, "url=\"https://defender.lumu.io/api/incidents?key=REDACTED\""},
		{"error attr", func(l *slog.Logger) { l.Warn("req", "err", errors.New("Get /x?key="+secret+": EOF")) }, `err="Get /x?key=REDACTED EOF"`}, // over-redacts up to the space
		{"error attr quoted", func(l *slog.Logger) { l.Warn("req", "err", errors.New(`Get "/x?key=`+secret+`": EOF`)) }, `err="Get \"/x?key=REDACTED\": EOF"`},
		{"stringer attr", func(l *slog.Logger) { l.Warn("req", "u", stringer("?key="+secret)) }, `u="?key=REDACTED"`},
		{"authorization attr", func(l *slog.Logger) { l.Warn("req", "Authorization", "ApiKey "+secret) }, "Authorization=REDACTED"},
		{"header attr", func(l *slog.Logger) {
			l.Warn("req", "headers", http.Header{"Authorization": {"ApiKey " + secret}, "Kbn-Xsrf": {"true"}})
		}, "headers=\"map[Authorization:[REDACTED] Kbn-Xsrf:[true]]\""},
		{"group", func(l *slog.Logger) {
			l.Warn("req", slog.Group("http", "url", "/x?key="+secret, slog.Int("status", 200)))
		}, `http.url="/x?key=REDACTED" http.status=200`},
		{"With", func(l *slog.Logger) { l.With("url", "/x?key="+secret).Warn("req") }, `url="/x?key=REDACTED"`},
		{"WithGroup", func(l *slog.Logger) { l.WithGroup("g").Warn("req", "url", "/x?key="+secret) }, `g.url="/x?key=REDACTED"`},
		{"struct", func(l *slog.Logger) {
			l.Warn("req", "r", struct{ URL string }{"/x?key=" + secret})
		}, "r=\"{URL:/x?key=REDACTED}\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr, file bytes.Buffer
			tt.log(newLogger(&stderr, &file, slog.LevelDebug))
			for name, out := range map[string]string{"stderr": stderr.String(), "file": file.String()} {
				if strings.Contains(out, secret) {
					t.Errorf("%s contains the secret: %s", name, out)
				}
				if !strings.Contains(out, tt.want) {
					t.Errorf("%s = %q, want it to contain %q", name, out, tt.want)
				}
			}
		})
	}
}

func TestLoggerLevel(t *testing.T) {
	var stderr bytes.Buffer
	l := newLogger(&stderr, nil, slog.LevelWarn)
	l.Info("hidden")
	l.Warn("shown")
	l.Error("shown too")
	got := strings.Count(stderr.String(), "\n")
	if got != 2 || strings.Contains(stderr.String(), "hidden") {
		t.Errorf("at warn level got %d lines:\n%s", got, stderr.String())
	}
}
