package plan

import "github.com/lumuctl/lumuctl/engine/provider"

// Action is what happens to one item: provider.Action, the one action type
// of the packer, the plan and the journal. The alias and the constants
// below only let plan code and its callers spell it plan.Create.
type Action = provider.Action

// The actions a plan can hold.
const (
	NoOp   = provider.NoOp
	Create = provider.Create
	Update = provider.Update
	Delete = provider.Delete
)
