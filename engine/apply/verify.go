package apply

import (
	"fmt"
	"strings"
	"time"

	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/state"
)

// StaleError explains why a saved plan was refused (exit code 4).
type StaleError struct {
	Reasons []string
}

func (e *StaleError) Error() string {
	return "the saved plan cannot be applied:\n  - " + strings.Join(e.Reasons, "\n  - ") +
		"\nNothing was changed. Run lumuctl plan again and review the new plan."
}

// VerifyInput is the world a saved plan is checked against.
type VerifyInput struct {
	// ConfigDigest is the digest of the configuration evaluated now.
	ConfigDigest string
	// Namespace is the configuration's namespace now.
	Namespace string
	// State is the committed state now (after journal reconciliation).
	State *state.State
	// Live maps each kibana of the plan to its owned items read now
	// (plan.ReadLive: with their bodies).
	Live map[string]plan.LiveSet
	Now  time.Time
	// MaxAge is --plan-max-age (0: no limit).
	MaxAge time.Duration
}

// Verify checks every binding of a saved plan and returns a *StaleError
// listing each one that no longer holds. When they all hold, it rebuilds
// the full body of each update saved as a change of its item's values
// from in.Live (read by plan.ReadLive, with the items' bodies), refusing
// the plan when an item is not the one it was made from (plan.Resolve).
func Verify(p *plan.Plan, in VerifyInput) error {
	var reasons []string
	if _, ok := in.State.Applied[p.Digest]; ok {
		reasons = append(reasons, fmt.Sprintf("this plan (digest %s) was already applied", short(p.Digest)))
	}
	if in.MaxAge > 0 {
		if age := in.Now.Sub(p.CreatedAt); age > in.MaxAge {
			reasons = append(reasons, fmt.Sprintf("the plan was made %s ago, more than --plan-max-age %s", age.Round(time.Second), in.MaxAge))
		}
	}
	if p.CreatedAt.After(in.Now.Add(5 * time.Minute)) {
		reasons = append(reasons, "the plan's creation time is in the future")
	}
	if p.Namespace != in.Namespace {
		reasons = append(reasons, fmt.Sprintf("the plan is for namespace %q, the configuration's is %q", p.Namespace, in.Namespace))
	}
	if p.Bindings.ConfigDigest != in.ConfigDigest {
		reasons = append(reasons, "the configuration changed since the plan was made (or the plan belongs to another configuration)")
	}
	if p.Bindings.StateLineage != in.State.Lineage {
		reasons = append(reasons, fmt.Sprintf("the plan was made against state lineage %q, the state file has %q", p.Bindings.StateLineage, in.State.Lineage))
	} else if p.Bindings.StateSerial != in.State.Serial {
		reasons = append(reasons, fmt.Sprintf("the state changed since the plan was made (serial %d, now %d): another apply ran", p.Bindings.StateSerial, in.State.Serial))
	}
	for _, k := range p.Kibanas {
		now, ok := in.Live[k.Name]
		switch {
		case !ok:
			reasons = append(reasons, fmt.Sprintf("kibana %q of the plan was not read", k.Name))
		case now.Digest() != k.LiveDigest:
			then := plan.LiveSet{ContainerExists: !k.CreateContainer, Items: k.LiveItems}
			changes := then.Changes(now, 10)
			if len(changes) == 0 {
				changes = []string{"the owned items differ"}
			}
			for _, c := range changes {
				reasons = append(reasons, fmt.Sprintf("kibana %q changed since the plan was made: %s", k.Name, c))
			}
		}
	}
	if len(reasons) == 0 {
		// The bindings hold; now the changes themselves, which the file's
		// writer chose: each must name an owned item read just now or one
		// of the plan's own creates.
		reasons = CheckOwnership(p, in.Namespace, in.Live)
	}
	if len(reasons) == 0 {
		// Updates saved as a change of their item's values: rebuild each
		// body from the item read just now, which must be the one the
		// plan was made from (its sha256 is bound by the plan digest).
		reasons = plan.Resolve(p, in.Live)
	}
	if len(reasons) > 0 {
		return &StaleError{Reasons: printable(reasons)}
	}
	return nil
}

func short(d string) string {
	if len(d) > 12 {
		return d[:12]
	}
	return d
}
