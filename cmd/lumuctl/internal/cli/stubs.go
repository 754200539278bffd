package cli

import "github.com/spf13/cobra"

// Temporary stubs, replaced by their own files.

func newValidateCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "validate", Short: "Check the configuration (offline)"}
}
func newFmtCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "fmt", Short: "Rewrite configuration files to canonical format"}
}
func newInitCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "init", Short: "Prepare the working directory"}
}
func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{Use: "version", Short: "Print the version"}
}
