package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Streams are the process streams a command writes to; tests inject buffers.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globals holds the global flags shared by every command (SPEC section 4).
type globals struct {
	streams  Streams
	chdir    string
	noColor  bool
	logLevel string
	logFile  string
	verbose  int
	// getenv reads the environment; tests may replace it.
	getenv func(string) string
}

// Main runs lumuctl with os.Args and returns the process exit code.
func Main() int {
	return Run(context.Background(), os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
}

// Run executes one lumuctl invocation. The first SIGINT/SIGTERM cancels ctx so
// long-running commands can stop cleanly; a second one exits at once.
func Run(ctx context.Context, args []string, streams Streams) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		select {
		case <-sig:
			cancel()
		case <-ctx.Done():
			return
		}
		select {
		case <-sig:
			os.Exit(ExitInterrupted)
		case <-ctx.Done():
		}
	}()

	g := &globals{streams: streams, getenv: os.Getenv}
	root := NewRootCommand(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var ee *exitError
		if !(errors.As(err, &ee) && (ee.printed || ee.err == nil)) {
			fmt.Fprintf(streams.Err, "Error: %s\n", err)
		}
	}
	return exitCodeOf(err)
}

// NewRootCommand builds the lumuctl command tree. It holds no package-level
// state, so tests can build as many trees as they like.
func NewRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "lumuctl",
		Short: "Keep Elastic Defend Blocklists in step with Lumu Defender incidents",
		Long: `lumuctl turns Lumu Defender incidents into Elastic Defend Blocklist entries
the way Terraform turns configuration into infrastructure: declarative
*.lumu.hcl files, a reviewable plan, an apply that executes exactly that plan,
and a local state file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup()
		},
	}
	root.SetIn(g.streams.In)
	root.SetOut(g.streams.Out)
	root.SetErr(g.streams.Err)
	g.register(root)
	root.AddCommand(
		newValidateCommand(g),
		newFmtCommand(g),
		newInitCommand(g),
		newVersionCommand(g),
	)
	return root
}
