package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at link time by the Makefile:
//
//	-ldflags "-X github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli.version=v1.2.3
//	          -X github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli.commit=abc1234"
//
// When empty, resolveVersion falls back to the build information Go embeds.
var (
	version string
	commit  string
)

// versionInfo is what `lumuctl version` reports. The JSON field names are
// part of the CLI contract (docs/commands.md).
type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// resolveVersion combines the link-time values with the build info bi (which
// may be nil): a value set with -ldflags wins; otherwise the module version
// (as `go install module@version` records it) and the VCS revision that
// `go build` stamps into binaries built inside a Git checkout.
func resolveVersion(ldVersion, ldCommit string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{
		Version:   ldVersion,
		Commit:    ldCommit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if bi.GoVersion != "" {
			v.GoVersion = bi.GoVersion
		}
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		if v.Commit == "" {
			var rev string
			var dirty bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if rev != "" && dirty {
				rev += "-dirty"
			}
			v.Commit = rev
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	if v.Commit == "" {
		v.Commit = "unknown"
	}
	return v
}

// currentVersion is the version of this binary.
func currentVersion() versionInfo {
	bi, _ := debug.ReadBuildInfo()
	return resolveVersion(version, commit, bi)
}

// versionString is the short form used in logs, e.g. "v1.2.3 (abc1234)".
func versionString() string {
	v := currentVersion()
	return v.Version + " (" + v.Commit + ")"
}

type versionFlags struct {
	json bool
}

func newVersionCommand(g *globals) *cobra.Command {
	var flags versionFlags
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Long: `Print the lumuctl version, the Git commit it was built from and the Go
version and platform. --json prints the same as one JSON object.`,
		Example: `  lumuctl version
  lumuctl version --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runVersion(g, flags, currentVersion())
		},
	}
	cmd.Flags().BoolVar(&flags.json, "json", false, "print one JSON object")
	return cmd
}

// runVersion writes v to stdout, as text or JSON.
func runVersion(g *globals, flags versionFlags, v versionInfo) error {
	out := g.streams.Out
	if flags.json {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(out, "lumuctl %s\ncommit %s\n%s %s\n", v.Version, v.Commit, v.GoVersion, v.Platform)
	return err
}
