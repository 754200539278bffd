// Command lumuctl-sandbox serves stand-ins for Lumu Defender and Kibana on
// loopback, for the demo, the tests and the benchmarks.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "lumuctl-sandbox: not built yet")
	os.Exit(1)
}
