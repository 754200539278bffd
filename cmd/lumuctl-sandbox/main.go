// Command lumuctl-sandbox serves stand-ins for Lumu Defender and Kibana on
// loopback, for the demo, the tests and the benchmarks (SPEC section 7).
//
//	lumuctl-sandbox serve [--scenario small|large] [--seed N] [--lumu-addr A]
//	    [--kibana-addr A] [--control-addr A] [--lumu-rate-limit N] [--lumu-requests-per-day N] [--kibana-91]
//	    [--kibana-version V]
//
// serve prints one JSON line (sandbox.Info) on stdout once every server
// accepts connections, then serves until SIGINT or SIGTERM and shuts down
// gracefully. The wiring lives in package sandbox.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `Usage:
  lumuctl-sandbox serve [flags]   serve the Lumu and Kibana stand-ins on loopback
  lumuctl-sandbox env INFO        print shell exports of LUMUCTL_VAR_* for examples/sandbox
  lumuctl-sandbox ctl INFO METHOD PATH [JSON]
                                  call the control API, print the answer
  lumuctl-sandbox close-incidents INFO N [ADVERSARY_TYPE]
                                  close the N most recent open incidents
  lumuctl-sandbox help            show this help

INFO is a file holding serve's JSON line.

serve prints one JSON line when ready:
  {"lumu_url","kibana_url","control_url","lumu_key","kibana_api_key","company_uuid","policy_ids"}
and serves until SIGINT/SIGTERM. Addresses must be loopback; port 0 picks a
free port. The control URL serves /lumu/... and /kibana/... (see the docs of
packages lumusim and kibanasim).

Flags of serve:
`

// errUsage means the usage was already printed; exit 2.
var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		serveFlags(io.Discard, &sandbox.Options{}).PrintDefaults()
		return 2
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		fs := serveFlags(stdout, &sandbox.Options{})
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	case "serve":
		err := serve(ctx, args[1:], stdout, stderr)
		switch {
		case errors.Is(err, errUsage):
			return 2
		case err != nil:
			fmt.Fprintf(stderr, "lumuctl-sandbox: %v\n", err)
			return 1
		}
		return 0
	case "env", "ctl", "close-incidents":
		cmd := map[string]func([]string, io.Writer) error{"env": cmdEnv, "ctl": cmdCtl, "close-incidents": cmdCloseIncidents}[args[0]]
		err := cmd(args[1:], stdout)
		switch {
		case errors.Is(err, errUsage):
			fmt.Fprint(stderr, usage)
			return 2
		case err != nil:
			fmt.Fprintf(stderr, "lumuctl-sandbox %s: %v\n", args[0], err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(stderr, "lumuctl-sandbox: unknown command %q (want serve, env, ctl, close-incidents or help)\n", args[0])
	return 2
}

func serveFlags(stderr io.Writer, o *sandbox.Options) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Scenario, "scenario", lumusim.ScenarioSmall, "generated scenario: "+strings.Join(lumusim.ScenarioNames(), " or "))
	fs.Int64Var(&o.Seed, "seed", 1, "seed of the generated data (same seed, same data)")
	fs.StringVar(&o.LumuAddr, "lumu-addr", sandbox.DefaultAddr, "listen address of the Lumu stand-in (loopback only)")
	fs.StringVar(&o.KibanaAddr, "kibana-addr", sandbox.DefaultAddr, "listen address of the Kibana stand-in (loopback only)")
	fs.StringVar(&o.ControlAddr, "control-addr", sandbox.DefaultAddr, "listen address of the control API (loopback only)")
	fs.IntVar(&o.LumuRateLimit, "lumu-rate-limit", 0, "Lumu requests per minute per key before 429 (0 = off)")
	fs.IntVar(&o.LumuRequestsPerDay, "lumu-requests-per-day", 0, "Lumu requests per key per UTC day before 429 until midnight (0 = off)")
	fs.BoolVar(&o.Kibana91, "kibana-91", false, "emulate Kibana 9.1+ space awareness (ownerSpaceId tags); same as --kibana-version 9.1")
	fs.StringVar(&o.KibanaVersion, "kibana-version", "", "Kibana release to emulate: "+strings.Join(kibanasim.Versions, ", ")+" (one per generation) or any MAJOR.MINOR (default "+kibanasim.DefaultVersion+")")
	return fs
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var opts sandbox.Options
	fs := serveFlags(stderr, &opts)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lumuctl-sandbox serve: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	sb, err := sandbox.Start(ctx, opts)
	if err != nil {
		return err
	}
	line, err := json.Marshal(sb.Info())
	if err != nil {
		_ = sb.Close()
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		_ = sb.Close()
		return fmt.Errorf("write ready line: %w", err)
	}
	<-ctx.Done()
	return sb.Close()
}
