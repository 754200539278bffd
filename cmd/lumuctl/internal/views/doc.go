// Package views renders command results for people and for machines. It
// owns the rendering of hcl.Diagnostics (human text with source snippets,
// and the JSON diagnostic shape) and the validate view; plan and apply views
// reuse the same diagnostic renderers.
//
// It does not decide exit codes or run anything: commands in package cli
// build a view (NewValidate) from the requested format and hand it results.
// Views write only to the writers they are given.
package views
