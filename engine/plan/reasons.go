package plan

import "fmt"

// maxReasons is how many reasons a refusal lists before it counts the rest.
const maxReasons = 20

// Reasons collects why something is refused: the first maxReasons in
// full, then only how many more there were (a plan of 100,000 stale
// values must not print 100,000 lines).
type Reasons struct {
	list []string
	more int
}

// Add records one reason.
func (r *Reasons) Add(format string, args ...any) {
	if len(r.list) < maxReasons {
		r.list = append(r.list, fmt.Sprintf(format, args...))
	} else {
		r.more++
	}
}

// List returns the reasons, ending with "and N more <what>" when some were
// only counted; nil when there is none.
func (r *Reasons) List(what string) []string {
	if r.more > 0 {
		return append(r.list, fmt.Sprintf("and %d more %s", r.more, what))
	}
	return r.list
}
