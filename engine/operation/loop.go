package operation

import (
	"context"
	"time"
)

// Every runs cycle every interval, start to start (a cycle longer than the
// interval is followed at once by the next), until ctx is done: the
// unattended loop of apply --every, each cycle one whole Apply. cycle
// handles its own failures; an error it returns ends the loop with that
// error (an interrupt during a cycle). Every returns nil when ctx ends
// between cycles, with the number of cycles run.
func Every(ctx context.Context, interval time.Duration, now func() time.Time, cycle func(ctx context.Context, n int) error) (int, error) {
	if now == nil {
		now = time.Now
	}
	for n := 1; ; n++ {
		start := now()
		if err := cycle(ctx, n); err != nil {
			return n, err
		}
		wait := max(start.Add(interval).Sub(now()), 0)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return n, nil
		case <-t.C:
		}
	}
}
