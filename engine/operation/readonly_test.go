package operation

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// modeTarget is one client built by the factory: it records, on the log
// shared by every client, each read of the owned items and each write, with
// whether the client was built read-only; a read-only one refuses writes
// as the real client does.
type modeTarget struct {
	provider.Target
	readOnly bool
	mu       *sync.Mutex
	log      *[]string
}

func (t *modeTarget) add(what string) {
	t.mu.Lock()
	*t.log = append(*t.log, fmt.Sprintf("%s read-only=%v", what, t.readOnly))
	t.mu.Unlock()
}

func (t *modeTarget) List(ctx context.Context, req provider.ListRequest) (provider.ListResponse, error) {
	t.add("list")
	return t.Target.List(ctx, req)
}

func (t *modeTarget) write() error {
	t.add("write")
	if t.readOnly {
		return provider.ErrReadOnly
	}
	return nil
}

func (t *modeTarget) Create(ctx context.Context, it provider.Item) (provider.Item, error) {
	if err := t.write(); err != nil {
		return provider.Item{}, err
	}
	return t.Target.Create(ctx, it)
}

func (t *modeTarget) Update(ctx context.Context, it provider.Item) (provider.Item, error) {
	if err := t.write(); err != nil {
		return provider.Item{}, err
	}
	return t.Target.Update(ctx, it)
}

func (t *modeTarget) Delete(ctx context.Context, id, version string) error {
	if err := t.write(); err != nil {
		return err
	}
	return t.Target.Delete(ctx, id, version)
}

// TestApplyPlansThroughReadOnlyTargets: the Kibana client keeps no item
// state, so apply makes its plan through read-only clients, as plan does,
// and only its writes go through a writable one.
func TestApplyPlansThroughReadOnlyTargets(t *testing.T) {
	f := newFixture(t)
	var (
		mu  sync.Mutex
		log []string
	)
	op := f.op()
	op.Factories.Target = func(cfg provider.TargetConfig) (provider.Target, error) {
		return &modeTarget{Target: f.target, readOnly: cfg.ReadOnly, mu: &mu, log: &log}, nil
	}
	if _, err := Apply(context.Background(), op); err != nil {
		t.Fatal(err)
	}
	if got := f.target.TotalWrites(); got != 4 {
		t.Fatalf("kibana writes = %d, want 4", got)
	}
	counts := map[string]int{}
	firstWrite := -1
	for i, e := range log {
		counts[e]++
		if firstWrite < 0 && e == "write read-only=false" {
			firstWrite = i
		}
	}
	if counts["list read-only=false"] > 0 && firstWrite >= 0 {
		for _, e := range log[:firstWrite] {
			if e == "list read-only=false" {
				t.Errorf("the plan read Kibana through a writable client: %q", log)
				break
			}
		}
	}
	if counts["list read-only=true"] == 0 || counts["write read-only=false"] != 4 || counts["write read-only=true"] != 0 {
		t.Errorf("calls by client mode = %v, want the plan's list read-only and the 4 writes writable (log %q)", counts, log)
	}
}
