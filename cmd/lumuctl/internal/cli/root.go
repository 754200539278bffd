package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/metrics"
	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
	"github.com/lumuctl/lumuctl/engine/provider"
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

	// logger is the run's logger, set up by setup from --log-level, -v and
	// --log-file; every record is scrubbed of credentials (scrubHandler).
	// Before setup it discards everything. Log for operators; never use it
	// for command output.
	logger *slog.Logger
	// closers are closed when the run ends (the log file).
	closers []io.Closer
	// factories build the providers; tests may replace them.
	factories provider.Factories
	// args are the command-line arguments of the run, for the hint on
	// Terraform-style single-dash flags (see singleDashHint).
	args []string
	// clock is the run's time source; tests may replace it.
	clock func() time.Time
	// writes counts apply's item writes, for a second Ctrl-C.
	writes writeCounter
	// metrics collects the run's metrics (SPEC section 9); nil unless
	// --metrics-file or apply --every asked for them.
	metrics *metrics.Set
	// lastFailure is the message of the last error a run reported (for
	// the loop's log and /healthz, when the error itself carries none).
	lastFailure string
	// lumuHTTP is the Lumu HTTP client counting into lumuHTTPFor.
	lumuHTTP    *http.Client
	lumuHTTPFor *metrics.Set
}

// now returns the current time from the run's clock.
func (g *globals) now() time.Time {
	if g.clock != nil {
		return g.clock()
	}
	return time.Now()
}

// Main runs lumuctl with os.Args and returns the process exit code.
func Main() int {
	return Run(context.Background(), os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
}

// Run executes one lumuctl invocation. The first SIGINT/SIGTERM cancels ctx so
// long-running commands can stop cleanly (apply starts no more writes and
// gives up waiting to retry, while a request on the wire may finish and be
// recorded); a second one exits at once: 3 when item writes were made, else
// 130 (SPEC section 6). The journal covers a write the exit cuts short.
func Run(ctx context.Context, args []string, streams Streams) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &globals{streams: streams, getenv: os.Getenv, logger: discardLogger}
	g.factories = defaultFactories(g)
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-sig:
			cancel()
			if n := g.writes.inFlight.Load(); n > 0 {
				fmt.Fprintf(streams.Err, "\nInterrupted: starting no more item writes (%d in flight may still finish and are recorded); press Ctrl-C again to exit at once.\n", n)
			}
		case <-done:
			return
		}
		// Keep listening after the cancel: the second signal must not be
		// swallowed (signal.Notify disabled the default handling).
		select {
		case <-sig:
			os.Exit(g.writes.exitNow(streams.Err))
		case <-done:
		}
	}()

	root := NewRootCommand(g)
	if args == nil {
		args = []string{} // nil makes cobra read os.Args
	}
	g.args = args
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if cerr := g.close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing log file: %w", cerr)
	}
	printError(streams.Err, err)
	return exitCodeOf(err)
}

// printError shows err on w, unless a view already reported it. This is
// the only place that prints a command's error, so each error appears once.
func printError(w io.Writer, err error) {
	if err == nil {
		return
	}
	var ee *exitError
	isExit := errors.As(err, &ee)
	if isExit && (ee.printed || ee.err == nil) {
		return
	}
	msg := err.Error()
	if !isExit && strings.HasPrefix(msg, "unknown command ") {
		// cobra's own message for the root; flag and argument errors
		// carry the hint already (usageError).
		msg = strings.TrimRight(msg, "\n") + "\nRun 'lumuctl --help' for usage."
	}
	// Errors quote Kibana and Lumu (item_ids, messages): no escape
	// sequence reaches the terminal.
	fmt.Fprintf(w, "Error: %s\n", views.NoControlLines(msg))
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
		Example: `  lumuctl init --example    # write a starter main.lumu.hcl
  lumuctl validate          # check the configuration offline
  lumuctl fmt --check       # exit 3 when a file needs formatting`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return g.setup()
		},
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if hint := singleDashHint(c, g.args, err); hint != nil {
			err = hint
		}
		return usageError(c, err)
	})
	root.SetIn(g.streams.In)
	root.SetOut(g.streams.Out)
	root.SetErr(g.streams.Err)
	g.register(root)
	root.AddCommand(
		newValidateCommand(g),
		newFmtCommand(g),
		newInitCommand(g),
		newPlanCommand(g),
		newApplyCommand(g),
		newDestroyCommand(g),
		newShowCommand(g),
		newStateCommand(g),
		newWhyCommand(g),
		newHistoryCommand(g),
		newVersionCommand(g),
		newConvertCommand(g),
	)
	// Add cobra's completion command now rather than at Execute, so the
	// walk below sees it.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		rejectUnknownSubcommands(c)
	}
	explainArgErrors(root)
	return root
}

// explainArgErrors makes every argument-count error in the tree below c
// carry the command's usage line and help hint (docs/commands.md, "Exit
// codes"), instead of cobra's bare "accepts 1 arg(s), received 0".
func explainArgErrors(c *cobra.Command) {
	if c.Args != nil {
		c.Args = explainArgs(c.Args)
	}
	for _, sub := range c.Commands() {
		explainArgErrors(sub)
	}
}

// rejectUnknownSubcommands makes every command below c that only groups
// subcommands (such as "completion") fail on an unknown subcommand, the way
// the root does, instead of printing its help and exiting 0.
func rejectUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		rejectUnknownSubcommands(sub)
	}
	if !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return c.Help()
		}
		return usageError(c, fmt.Errorf("unknown command %q for %q", args[0], c.CommandPath()))
	}
}
