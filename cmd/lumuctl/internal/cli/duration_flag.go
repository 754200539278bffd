package cli

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// durationValue is a pflag duration that refuses negative values: a
// negative --lock-timeout or --plan-max-age means nothing sensible and was
// silently taken as 0 (or as "every plan is too old").
type durationValue struct{ p *time.Duration }

func (d durationValue) String() string { return d.p.String() }
func (d durationValue) Type() string   { return "duration" }
func (d durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as 30s, 5m or 1h: %w", err)
	}
	if v < 0 {
		return fmt.Errorf("a duration must not be negative, got %s", s)
	}
	*d.p = v
	return nil
}

// durationVar registers a non-negative duration flag.
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var(durationValue{p}, name, usage)
}
