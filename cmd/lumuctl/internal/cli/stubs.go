package cli

import "github.com/spf13/cobra"

// Temporary stubs, replaced by their own files.

func newValidateCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "validate", Short: "Check the configuration (offline)"}
}
func newInitCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "init", Short: "Prepare the working directory"}
}
