// Command lumuctl keeps Elastic Defend Blocklists in step with Lumu Defender
// incidents, Terraform style. See README.md.
package main

import (
	"os"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli"
)

// profile starts profiling and returns the function that stops it; only a
// build with the pprofhook tag sets it (pprof.go).
var profile func() (stop func())

func main() {
	if profile != nil {
		stop := profile()
		code := cli.Main()
		stop()
		os.Exit(code)
	}
	os.Exit(cli.Main())
}
