// Package testkit holds the helpers that tests of several packages share:
// hostile HTTP bodies and allocation bounds (providers' hostile tests), a
// recording provider.HTTPLog, an in-memory HTTP transport for fuzz
// targets, and generated test data (fuzz seed corpora) checked against
// what is committed and rewritten with -update.
//
// Only _test.go files import it (engine/deps_test.go checks that no
// program does).
package testkit
