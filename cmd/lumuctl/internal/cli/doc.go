// Package cli is the cobra layer of lumuctl: it parses flags, builds views,
// wires the providers into the engine and maps results to exit codes. It is
// the only package that knows cobra and every provider.
//
// Start at Main and NewRootCommand. Each command lives in its own file with a
// flags struct and a plain run function.
package cli
