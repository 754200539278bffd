package operation

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// Hook receives everything an operation reports while it runs, in order:
// the source's fetching progress, notices, the plan, then the Kibana
// writes. It is the one progress interface of plan, apply and destroy; the
// command's views implement it (human text, JSON events) and so do its
// metrics. Implementations must be safe for concurrent use (writes are
// reported from several goroutines) and must not block for long.
type Hook interface {
	// Fetch reports the Lumu source's progress while planning; the last
	// event of a plan has Kind FetchFinished.
	Fetch(ev provider.ProgressEvent)
	// Notice reports a fact for people between steps (the journal was
	// reconciled, owned items were synced, the plan was saved). The text
	// is complete and the same for every view.
	Notice(msg string)
	// Planned reports the plan and its diagnostics once planning ends (p
	// is nil when there is no plan, such as a configuration error; diags
	// may then hold errors). For a saved plan it is called twice: the
	// configuration's diagnostics first, the plan once verified. An error
	// (the view could not write) ends the operation.
	Planned(p *plan.Plan, diags hcl.Diagnostics) error
	// ApplyStart is called once before the first write with their count.
	ApplyStart(total int)
	// PreApply and PostApply report each Kibana write (apply.Hook).
	apply.Hook
	// ApplyEnd is called once after the last write finished.
	ApplyEnd()
}

// FetchFinished is the Kind of the Fetch event that ends a plan's fetching
// (a status line can be cleared).
const FetchFinished provider.ProgressKind = "finished"

// NopHook ignores every event.
type NopHook struct{ apply.NopHook }

// Fetch implements Hook.
func (NopHook) Fetch(provider.ProgressEvent) {}

// Notice implements Hook.
func (NopHook) Notice(string) {}

// Planned implements Hook.
func (NopHook) Planned(*plan.Plan, hcl.Diagnostics) error { return nil }

// ApplyStart implements Hook.
func (NopHook) ApplyStart(int) {}

// ApplyEnd implements Hook.
func (NopHook) ApplyEnd() {}

// Hooks fans every event out to each hook, in order.
type Hooks []Hook

// Fetch implements Hook.
func (hs Hooks) Fetch(ev provider.ProgressEvent) {
	for _, h := range hs {
		h.Fetch(ev)
	}
}

// Notice implements Hook.
func (hs Hooks) Notice(msg string) {
	for _, h := range hs {
		h.Notice(msg)
	}
}

// Planned implements Hook; it stops at the first error.
func (hs Hooks) Planned(p *plan.Plan, diags hcl.Diagnostics) error {
	for _, h := range hs {
		if err := h.Planned(p, diags); err != nil {
			return err
		}
	}
	return nil
}

// ApplyStart implements Hook.
func (hs Hooks) ApplyStart(total int) {
	for _, h := range hs {
		h.ApplyStart(total)
	}
}

// PreApply implements Hook.
func (hs Hooks) PreApply(blocklist string, c plan.ItemChange) {
	for _, h := range hs {
		h.PreApply(blocklist, c)
	}
}

// PostApply implements Hook.
func (hs Hooks) PostApply(blocklist string, c plan.ItemChange, err error) {
	for _, h := range hs {
		h.PostApply(blocklist, c, err)
	}
}

// ApplyEnd implements Hook.
func (hs Hooks) ApplyEnd() {
	for _, h := range hs {
		h.ApplyEnd()
	}
}

var (
	_ Hook = NopHook{}
	_ Hook = Hooks(nil)
)
