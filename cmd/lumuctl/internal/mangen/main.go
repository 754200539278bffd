// Command mangen writes lumuctl's man pages (`make man`):
//
//	go run ./cmd/lumuctl/internal/mangen -dir man/man1
//
// One page per command, generated from the cobra tree with cobra's doc
// generator, so the pages say what --help says.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli"
)

func main() {
	dir := flag.String("dir", "man/man1", "write the pages into `DIR`")
	flag.Parse()
	if err := cli.GenManPages(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "mangen:", err)
		os.Exit(1)
	}
	fmt.Printf("wrote the lumuctl man pages to %s\n", *dir)
}
