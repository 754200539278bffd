// Command lumuctl keeps Elastic Defend Blocklists in step with Lumu Defender
// incidents, Terraform style. See README.md.
package main

import (
	"os"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli"
)

func main() { os.Exit(cli.Main()) }
