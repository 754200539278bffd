package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"

	"github.com/lumuctl/lumuctl/engine/safefile"
)

// redactedMark replaces a secret in a log line.
const redactedMark = "REDACTED"

// logLevels are the values --log-level accepts, lowest detail first.
var logLevels = []struct {
	name  string
	level slog.Level
}{
	{"error", slog.LevelError},
	{"warn", slog.LevelWarn},
	{"info", slog.LevelInfo},
	{"debug", slog.LevelDebug},
}

// parseLogLevel turns a --log-level value into a slog level. Matching is
// case-insensitive; anything else is an error naming the valid values.
func parseLogLevel(s string) (slog.Level, error) {
	names := make([]string, len(logLevels))
	for i, l := range logLevels {
		if strings.EqualFold(strings.TrimSpace(s), l.name) {
			return l.level, nil
		}
		names[i] = l.name
	}
	return 0, fmt.Errorf("invalid --log-level %q: must be one of %s", s, strings.Join(names, ", "))
}

// raiseLevel applies -v flags to a base level: -v shows at least info,
// -vv (or more) at least debug. It never lowers the detail asked for with
// --log-level.
func raiseLevel(base slog.Level, verbose int) slog.Level {
	var l slog.Level
	switch {
	case verbose <= 0:
		return base
	case verbose == 1:
		l = slog.LevelInfo
	default:
		l = slog.LevelDebug
	}
	return min(base, l)
}

// openLogFile opens path for appending, creating it with mode 0600.
func openLogFile(path string) (*os.File, error) {
	f, err := safefile.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	return f, nil
}

// newLogger builds the logger of one run: text lines on stderr at level, and
// in file as well when it is not nil. Every record goes through the scrubbing
// handler first.
func newLogger(stderr io.Writer, file io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(stderr, opts)
	if file != nil {
		h = slog.NewMultiHandler(h, slog.NewTextHandler(file, opts))
	}
	return slog.New(scrubHandler{next: h})
}

var (
	// queryKeyRE matches a "key" (or "apikey", "api_key") query parameter;
	// the Lumu Defender API key travels as ?key=.... Group 1 is everything
	// up to and including "=".
	queryKeyRE = regexp.MustCompile(`(?i)((?:^|[?&;\s"'(])(?:api[_-]?)?key=)[^&\s"'#)}\]>]+`)
	// authHeaderRE matches an Authorization header value in text such as
	// "Authorization: ApiKey abc", "authorization=Bearer abc" or the
	// fmt rendering of an http.Header, "Authorization:[ApiKey abc]".
	// Group 1 is the header name and separator, group 2 the scheme if any.
	authHeaderRE = regexp.MustCompile(`(?i)(authorization["']?\s*[:=]\s*\[?["']?)((?:apikey|bearer|basic|token)\s+)?[^\s"',;\]}]+`)
	// pgURLPasswordRE matches the password of a postgres:// URL (group 1 is
	// the scheme and user), pgKVPasswordRE a libpq password=... (or the
	// password query parameter): the PostgreSQL backend's URL (SPEC 10).
	pgURLPasswordRE = regexp.MustCompile(`(?i)(postgres(?:ql)?://[^:/@\s"']*:)[^@\s"']*@`)
	pgKVPasswordRE  = regexp.MustCompile(`(?i)((?:^|[?&\s"'(])password=)('[^']*'|[^&\s"'#)}\]>]+)`)
)

// scrubSecrets removes credentials from s: the value of every "key" (also
// "apikey", "api_key") query parameter, every PostgreSQL URL or key=value
// password and every Authorization header value become REDACTED (an
// authentication scheme such as "ApiKey" is kept). It is applied to every
// string that reaches a log line.
func scrubSecrets(s string) string {
	lower := strings.ToLower(s)
	if strings.Contains(lower, "postgres") || strings.Contains(lower, "password=") {
		s = pgURLPasswordRE.ReplaceAllString(s, "${1}"+redactedMark+"@")
		s = pgKVPasswordRE.ReplaceAllString(s, "${1}"+redactedMark)
	}
	if !strings.Contains(lower, "key=") && !strings.Contains(lower, "authorization") {
		return s
	}
	s = queryKeyRE.ReplaceAllString(s, "${1}"+redactedMark)
	return authHeaderRE.ReplaceAllString(s, "${1}${2}"+redactedMark)
}

// scrubHandler is a slog.Handler that scrubs secrets (see scrubSecrets) from
// the message and every attribute before passing the record on. An attribute
// named Authorization is dropped to REDACTED whatever its value; values of
// other kinds that print as text (errors, Stringers, URLs, structs) are
// rendered to a string and scrubbed.
type scrubHandler struct{ next slog.Handler }

func (h scrubHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h scrubHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, scrubSecrets(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(scrubAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h scrubHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clean[i] = scrubAttr(a)
	}
	return scrubHandler{next: h.next.WithAttrs(clean)}
}

func (h scrubHandler) WithGroup(name string) slog.Handler {
	return scrubHandler{next: h.next.WithGroup(name)}
}

// scrubAttr returns a with its value scrubbed, descending into groups.
func scrubAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if strings.EqualFold(a.Key, "authorization") && v.Kind() != slog.KindGroup {
		return slog.String(a.Key, redactedMark)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, scrubSecrets(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clean := make([]slog.Attr, len(group))
		for i, g := range group {
			clean[i] = scrubAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(clean...)}
	case slog.KindAny:
		return slog.String(a.Key, scrubSecrets(anyText(v.Any())))
	default: // numbers, bools, times, durations carry no secrets
		return slog.Attr{Key: a.Key, Value: v}
	}
}

// anyText renders a value of kind Any as text; an http.Header has its
// Authorization values redacted first.
func anyText(x any) string {
	switch x := x.(type) {
	case nil:
		return "<nil>"
	case http.Header:
		c := x.Clone()
		for k := range c {
			if strings.EqualFold(k, "authorization") {
				c[k] = []string{redactedMark}
			}
		}
		return fmt.Sprint(c)
	case error:
		return x.Error()
	case fmt.Stringer:
		return x.String()
	default:
		return fmt.Sprintf("%+v", x)
	}
}
