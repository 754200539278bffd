// Package config owns the lumuctl configuration language (SPEC section 2):
// it reads every *.lumu.hcl file of a directory, resolves variables from all
// their sources, checks every block, attribute and reference, and returns an
// evaluated, typed Config plus hcl.Diagnostics with tight source ranges.
//
// It does not talk to Lumu or Kibana, read state, or print anything: callers
// render the diagnostics (with Parser.Files for source snippets) and hand the
// typed model to the planner. It must not import cobra or providers/*.
//
// # Where to start
//
// NewParser returns a Parser; Parser.LoadDir loads one configuration:
//
//	p := config.NewParser()
//	cfg, diags := p.LoadDir(".", config.LoadOptions{Getenv: os.Getenv})
//
// The model (Config, Company, IOCFilter, Kibana, Blocklist) holds plain Go
// values. Credentials are Secret values and informational text that may come
// from a sensitive variable is Text: both refuse to print their content unless
// asked explicitly with Reveal. Config.Digest binds saved plans to a
// configuration without depending on credentials.
package config
