package provider

import "fmt"

// Action is what happens to one Kibana item, in Terraform's vocabulary. It
// is the one word for it from the packer (engine/pack) through the plan
// (engine/plan) to the write-ahead journal (engine/state): plan files,
// `show --json` and the state journal hold its text form.
type Action rune

// The actions. The zero value is NoOp: no write.
const (
	NoOp   Action = 0
	Create Action = '+' // POST a new item
	Update Action = '~' // PUT the whole item with the _version read at plan time
	Delete Action = '-' // DELETE the item after checking its _version
)

// String returns the action as a word: "create", "update", "delete" or
// "no-op".
func (a Action) String() string {
	switch a {
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	case NoOp:
		return "no-op"
	}
	return fmt.Sprintf("Action(%q)", rune(a))
}

// Symbol returns "+", "~", "-" or " " (NoOp), as plans print them.
func (a Action) Symbol() string {
	if a == NoOp {
		return " "
	}
	return string(a)
}

// IsWrite reports whether a is Create, Update or Delete.
func (a Action) IsWrite() bool { return a == Create || a == Update || a == Delete }

// MarshalText encodes the action as its word. An unknown action is an
// error, never written.
func (a Action) MarshalText() ([]byte, error) {
	if !a.IsWrite() && a != NoOp {
		return nil, fmt.Errorf("cannot encode unknown action %s", a)
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes a word written by MarshalText; any other text is an
// error naming it (truncated to 64 bytes).
func (a *Action) UnmarshalText(b []byte) error {
	switch string(b) {
	case "create":
		*a = Create
	case "update":
		*a = Update
	case "delete":
		*a = Delete
	case "no-op":
		*a = NoOp
	default:
		s := string(b)
		if len(s) > 64 {
			s = s[:64] + "..."
		}
		return fmt.Errorf("unknown action %q (want create, update, delete or no-op)", s)
	}
	return nil
}
