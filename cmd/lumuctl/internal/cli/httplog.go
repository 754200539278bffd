package cli

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// httpLog shows the providers' HTTP traffic (provider.HTTPLog): every
// attempt is a log record at info (-v shows it), every retry a line on
// standard error at the default level, so a run that waits on an
// unreachable Kibana or Lumu says so instead of staying silent.
type httpLog struct {
	g    *globals
	term bool // stderr is a terminal: clear the progress line first

	mu sync.Mutex // one retry line at a time
}

// httpLog returns the run's provider.HTTPLog.
func (g *globals) httpLog() provider.HTTPLog {
	return &httpLog{g: g, term: isTerminal(g.streams.Err)}
}

func (l *httpLog) Request(r provider.HTTPRequest) {
	if !l.g.logger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := []any{"client", r.Client, "method", r.Method, "path", r.Path}
	if r.Status != 0 {
		attrs = append(attrs, "status", r.Status)
	} else {
		attrs = append(attrs, "error", r.Err)
	}
	attrs = append(attrs, "duration", r.Duration.Round(time.Millisecond), "attempt", r.Attempt)
	l.g.logger.Info("http request", attrs...)
}

func (l *httpLog) Retry(r provider.HTTPRetry) {
	if !l.g.logger.Enabled(context.Background(), slog.LevelWarn) {
		return // --log-level error
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	clear := ""
	if l.term {
		clear = "\r\x1b[K"
	}
	fmt.Fprintf(l.g.streams.Err, "%s%s\n", clear, scrubSecrets(r.String()))
}
