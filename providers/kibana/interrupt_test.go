package kibana

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestRetryWaitEndsWithTheInterrupt: a write is sent with a context that
// is never cancelled (its answer must be recorded), but the wait before a
// retry ends with provider.RetryWait's context, so an interrupted apply does
// not keep retrying a Kibana that answers 503 (issue 10 item 3).
func TestRetryWaitEndsWithTheInterrupt(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	interrupted, stop := context.WithCancel(context.Background())
	stop()
	var waited atomic.Int32
	c, _ := newTestClient(t, srv, nil, WithSleeper(func(ctx context.Context, _ time.Duration) error {
		waited.Add(1)
		return ctx.Err()
	}))
	ctx := provider.WithRetryWait(context.Background(), interrupted)
	_, err := c.Create(ctx, sampleItem("lumuctl-default-lumu-windows-sha256-0001"))
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted while waiting to retry (answer 503") {
		t.Fatalf("Create = %v", err)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("Kibana got %d attempts, want 1", n)
	}
	if n := waited.Load(); n != 1 {
		t.Errorf("waited %d times, want 1", n)
	}

	// Without an interrupt the same client retries until the budget ends.
	hits.Store(0)
	c2, _ := newTestClient(t, srv, nil)
	if _, err := c2.Create(context.Background(), sampleItem("lumuctl-default-lumu-windows-sha256-0001")); err == nil {
		t.Fatal("Create succeeded against a 503")
	}
	if n := hits.Load(); n < 3 {
		t.Errorf("Kibana got %d attempts without an interrupt, want several", n)
	}
}
