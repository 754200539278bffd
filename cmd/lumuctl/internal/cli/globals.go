package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.chdir, "chdir", "", "switch to `DIR` before doing anything else")
	f.BoolVar(&g.noColor, "no-color", false, "disable colour (also NO_COLOR)")
	f.StringVar(&g.logLevel, "log-level", "warn", "log level: error, warn, info, debug")
	f.StringVar(&g.logFile, "log-file", "", "also write logs to `PATH` (mode 0600)")
	f.CountVarP(&g.verbose, "verbose", "v", "more detail (repeatable)")
}

// setup applies the global flags; it runs before every command.
func (g *globals) setup() error {
	if g.chdir != "" {
		if err := os.Chdir(g.chdir); err != nil {
			return fmt.Errorf("--chdir: %w", err)
		}
	}
	return nil
}
