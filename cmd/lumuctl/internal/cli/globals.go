package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

func (g *globals) register(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&g.chdir, "chdir", "", "switch to `DIR` before doing anything else")
	f.BoolVar(&g.noColor, "no-color", false, "disable colour (also NO_COLOR)")
	f.StringVar(&g.logLevel, "log-level", "warn", "log `LEVEL`: error, warn, info, debug")
	f.StringVar(&g.logFile, "log-file", "", "also append logs to `PATH` (created with mode 0600)")
	f.CountVarP(&g.verbose, "verbose", "v", "more detail: -v logs info, -vv debug")

	_ = root.MarkPersistentFlagDirname("chdir")
	_ = root.MarkPersistentFlagFilename("log-file")
	names := make([]string, len(logLevels))
	for i, l := range logLevels {
		names[i] = l.name
	}
	_ = root.RegisterFlagCompletionFunc("log-level", cobra.FixedCompletions(names, cobra.ShellCompDirectiveNoFileComp))
}

// setup applies the global flags; it runs before every command. Flags are
// checked before anything happens, so a bad --log-level leaves no log file.
func (g *globals) setup() error {
	level, err := parseLogLevel(g.logLevel)
	if err != nil {
		return err
	}
	level = raiseLevel(level, g.verbose)
	if g.chdir != "" {
		if err := chdir(g.chdir); err != nil {
			return err
		}
	}
	var file io.Writer
	if g.logFile != "" {
		// Opened after --chdir, so a relative PATH is relative to DIR.
		f, err := openLogFile(g.logFile)
		if err != nil {
			return err
		}
		g.closers = append(g.closers, f)
		file = f
	}
	g.logger = newLogger(g.streams.Err, file, level)
	if g.logger.Enabled(context.Background(), slog.LevelDebug) { // skip reading the build info otherwise
		g.logger.Debug("lumuctl starting", "version", versionString(), "level", level.String(), "chdir", g.chdir)
	}
	return nil
}

// close releases what setup opened (the log file).
func (g *globals) close() error {
	var errs []error
	for _, c := range g.closers {
		errs = append(errs, c.Close())
	}
	g.closers = nil
	return errors.Join(errs...)
}

// chdir changes the working directory with an error message that names
// the flag and the directory and says what is wrong, without Go's
// "chdir DIR:" prefix.
func chdir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--chdir %s: directory does not exist", dir)
	case err != nil:
		return fmt.Errorf("--chdir %s: %w", dir, pathErr(err))
	case !fi.IsDir():
		return fmt.Errorf("--chdir %s: not a directory", dir)
	}
	if err := os.Chdir(dir); err != nil {
		return fmt.Errorf("--chdir %s: %w", dir, pathErr(err))
	}
	return nil
}

// pathErr strips the operation and path of an *fs.PathError, which the
// caller already names.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// discardLogger is the logger before setup ran.
var discardLogger = slog.New(slog.DiscardHandler)
