package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// singleDashHint explains a flag error caused by a Terraform habit: a long
// flag written with one dash (-out=x, -auto-approve, -var x=y,
// -detailed-exitcode). pflag reads "-out=x" as the shorthands o, u, t and
// fails on the first unknown one with a message that does not name the
// flag; lumuctl never accepts the single-dash form (a typo must not change
// meaning), but says which flag was meant. It returns nil when err is not
// an unknown-shorthand error or no argument is a long flag of c with one
// dash.
func singleDashHint(c *cobra.Command, args []string, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "unknown shorthand flag") {
		return nil
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "--") || len(name) < 2 {
			continue
		}
		f := c.Flags().Lookup(name)
		if f == nil {
			continue
		}
		want := "--" + name
		if hasValue {
			want += "=" + value
		}
		return fmt.Errorf("unknown flag %s: lumuctl's long flags take two dashes; did you mean %s?", a, want)
	}
	return nil
}
