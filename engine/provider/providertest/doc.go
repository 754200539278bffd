// Package providertest has in-memory implementations of provider.Source and
// provider.Target for engine tests: they keep state in maps, count calls,
// enforce the rules the engine relies on (item_id uniqueness, _version
// checks, read-only mode) and let a test inject failures with hook funcs.
// They are not a substitute for the sandbox stand-ins, which emulate the real
// HTTP APIs.
package providertest
