package plan

// Action is what happens to one item: Terraform's vocabulary.
type Action rune

// The actions a plan can hold.
const (
	NoOp   Action = 0
	Create Action = '+'
	Update Action = '~'
	Delete Action = '-'
)

// String returns the action as a word ("create", "update", "delete", "no-op").
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
	return "Action(" + string(a) + ")"
}

// Symbol returns "+", "~", "-" or " ".
func (a Action) Symbol() string {
	if a == NoOp {
		return " "
	}
	return string(a)
}

// MarshalText encodes the action as its word.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText decodes a word written by MarshalText.
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
		return &decodeError{msg: "unknown action " + quoteTrunc(string(b))}
	}
	return nil
}
