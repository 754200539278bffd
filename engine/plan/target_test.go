package plan

import (
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// TestUnknownTarget: a --target that names neither a configured blocklist
// nor one with owned items (live or in the state) is an error with a
// suggestion; one with owned items left (an orphan) is planned.
func TestUnknownTarget(t *testing.T) {
	e := newEnv(t, oneBlocklist)
	for _, tt := range []struct{ target, want, notWant string }{
		{"lumo", "Did you mean --target blocklist.lumu?", ""},
		{"zzzzzzzz", "names no configured blocklist", "Did you mean"},
	} {
		_, diags := e.plan(t, func(o *Options) { o.Targets = []string{tt.target} })
		if !diags.HasErrors() {
			t.Fatalf("--target blocklist.%s: no error", tt.target)
		}
		msg := diags.Error()
		if !strings.Contains(msg, "Unknown --target") || !strings.Contains(msg, tt.want) ||
			(tt.notWant != "" && strings.Contains(msg, tt.notWant)) {
			t.Errorf("--target blocklist.%s: %s", tt.target, msg)
		}
	}
	// Own items for "lumu", then drop it from the configuration.
	e.src.Set("mal", provider.SHA256, hashes("a", 3)...)
	e.applyDirect(t, e.mustPlan(t))
	if len(e.prior.Items) == 0 {
		t.Fatal("the first plan created nothing to orphan")
	}
	orphaned := newEnv(t, "")
	orphaned.target, orphaned.prior = e.target, e.prior
	p := orphaned.mustPlan(t, func(o *Options) { o.Targets = []string{"lumu"}; o.AllowMassDelete = true })
	if len(p.Blocklists) != 1 || p.Blocklists[0].Name != "lumu" {
		t.Errorf("orphan target planned %+v", p.Blocklists)
	}
}
