package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// File name conventions.
const (
	// ConfigSuffix ends every configuration file name.
	ConfigSuffix = ".lumu.hcl"
	// VarsFile is the default variables file of a configuration directory.
	VarsFile = "lumuctl.lumuvars"
	// AutoVarsSuffix ends variables files loaded automatically, in lexical order.
	AutoVarsSuffix = ".auto.lumuvars"
	// EnvVarPrefix prefixes environment variables that set variables.
	EnvVarPrefix = "LUMUCTL_VAR_"
)

// Parser loads configurations. Use one Parser per run and hand Files to
// hcl.NewDiagnosticTextWriter so diagnostics show source snippets.
type Parser struct {
	p *hclparse.Parser
}

// NewParser returns a Parser with no files loaded.
func NewParser() *Parser { return &Parser{p: hclparse.NewParser()} }

// Files returns every file parsed so far (configuration and variables
// files), keyed by the file name used in diagnostic ranges.
func (p *Parser) Files() map[string]*hcl.File { return p.p.Files() }

// VarArg is one command-line variable option, in the order given: exactly
// one of File (--var-file FILE) and Assign (--var NAME=VALUE) is set.
type VarArg struct {
	File   string
	Assign string
}

// LoadOptions are the inputs of LoadDir besides the directory.
type LoadOptions struct {
	// Vars are the --var and --var-file options in command-line order.
	Vars []VarArg
	// Getenv reads LUMUCTL_VAR_<name>; nil means no environment.
	Getenv func(string) string
	// Offline is validate mode: a variable without a value is not an error;
	// it evaluates to an unknown value of its type and checks that need the
	// value are skipped.
	Offline bool
}

var labelRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// source is one file's name (as used in ranges) and content.
type source struct {
	name string
	data []byte
}

// LoadDir loads every *.lumu.hcl file of dir (not recursing) into one
// configuration, resolving variables from opts, lumuctl.lumuvars and
// *.auto.lumuvars in dir. The Config is nil only when the files could not be
// read or parsed; otherwise it is returned even with errors, holding what
// could be decoded.
func (p *Parser) LoadDir(dir string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read configuration directory",
			Detail:   fmt.Sprintf("Reading %s failed: %s.", dir, errText(err)),
		}}
	}
	var cfgFiles, autoVars []string
	hasVarsFile := false
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		switch {
		case strings.HasSuffix(name, ConfigSuffix):
			cfgFiles = append(cfgFiles, name)
		case strings.HasSuffix(name, AutoVarsSuffix):
			autoVars = append(autoVars, name)
		case name == VarsFile:
			hasVarsFile = true
		}
	}
	sort.Strings(cfgFiles)
	sort.Strings(autoVars)
	var diags hcl.Diagnostics
	read := func(names []string) []source {
		var out []source
		for _, n := range names {
			path := filepath.Join(dir, n)
			data, err := ReadSource(path)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read file",
					Detail: fmt.Sprintf("Reading %s failed: %s.", path, errText(err))})
				continue
			}
			out = append(out, source{name: path, data: data})
		}
		return out
	}
	cfgSrcs := read(cfgFiles)
	varNames := []string{}
	if hasVarsFile {
		varNames = append(varNames, VarsFile)
	}
	varSrcs := read(append(varNames, autoVars...))
	if diags.HasErrors() {
		return nil, diags
	}
	if len(cfgFiles) == 0 {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail: fmt.Sprintf("The directory %s contains no *%s files. Run lumuctl in a configuration directory (or pass --chdir DIR), or create a starter configuration with lumuctl init --example.",
				dir, ConfigSuffix),
		}}
	}
	return p.load(dir, cfgSrcs, varSrcs, opts)
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// block kinds at the top level, in documented order.
var topLevelBlocks = []string{"settings", "variable", "company", "ioc_filter", "kibana", "blocklist"}

// loader holds the state of one LoadDir call.
type loader struct {
	p       *Parser
	opts    LoadOptions
	diags   hcl.Diagnostics
	vars    map[string]*Variable
	evalCtx *hcl.EvalContext
	cfg     *Config
	// blocks by type, in file then source order.
	blocks map[string][]*hclsyntax.Block
	// literalCreds are the ranges of credential attributes written without
	// a variable; snippets of these lines are never shown.
	literalCreds []hcl.Range
}

// load decodes already read files; LoadDir and the fuzz test call it.
func (p *Parser) load(dir string, cfgSrcs, varSrcs []source, opts LoadOptions) (*Config, hcl.Diagnostics) {
	l := &loader{p: p, opts: opts, vars: map[string]*Variable{}, blocks: map[string][]*hclsyntax.Block{}}
	var bodies []*hclsyntax.Body
	for _, src := range cfgSrcs {
		if d := CheckSource(src.name, src.data); d.HasErrors() {
			l.diags = append(l.diags, d...)
			continue
		}
		f, d := p.p.ParseHCL(src.data, src.name)
		l.diags = append(l.diags, d...)
		if f == nil {
			continue
		}
		if body, ok := f.Body.(*hclsyntax.Body); ok {
			bodies = append(bodies, body)
		}
	}
	if l.diags.HasErrors() {
		return nil, l.diags
	}
	for _, body := range bodies {
		l.topLevel(body)
	}
	l.cfg = &Config{
		Dir:        dir,
		Variables:  l.vars,
		Companies:  map[string]*Company{},
		Filters:    map[string]*IOCFilter{},
		Kibanas:    map[string]*Kibana{},
		Blocklists: map[string]*Blocklist{},
	}
	l.declareVariables()
	l.resolveVariables(varSrcs)
	l.decodeSettings()
	l.decodeCompanies()
	l.decodeKibanas()
	l.decodeFilters()
	l.decodeBlocklists()
	l.hideCredentialSnippets()
	sortDiagnostics(l.diags)
	return l.cfg, l.diags
}

// topLevel sorts the blocks of one file by type, reporting unknown ones.
func (l *loader) topLevel(body *hclsyntax.Body) {
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	for _, a := range attrs {
		l.errorf(a.NameRange.Ptr(), "Unexpected attribute",
			"An attribute named %q is not expected at the top level of a configuration file: only blocks are. Valid block types are %s.", a.Name, quotedList(topLevelBlocks))
	}
	for _, b := range body.Blocks {
		switch b.Type {
		case "settings":
			if len(b.Labels) > 0 {
				l.errorf(b.LabelRanges[0].Ptr(), "Extraneous label", "A settings block takes no labels. Remove %q.", b.Labels[0])
				continue
			}
		case "variable", "company", "ioc_filter", "kibana", "blocklist":
			if len(b.Labels) == 0 {
				l.errorf(b.TypeRange.Ptr(), "Missing name for "+b.Type,
					"A %s block needs one label, its name, as in %s \"name\" { ... }.", b.Type, b.Type)
				continue
			}
			if len(b.Labels) > 1 {
				l.errorf(b.LabelRanges[1].Ptr(), "Extraneous label",
					"A %s block takes exactly one label, its name. Remove %q.", b.Type, b.Labels[1])
				continue
			}
			if !labelRE.MatchString(b.Labels[0]) {
				l.errorf(b.LabelRanges[0].Ptr(), "Invalid block name",
					"The name %q of this %s is not valid. Names start with a lowercase letter followed by up to 47 lowercase letters, digits or underscores ([a-z][a-z0-9_]{0,47}); they become part of Kibana item ids.", b.Labels[0], b.Type)
				continue
			}
		default:
			l.errorf(b.TypeRange.Ptr(), "Unsupported block type",
				"Blocks of type %q are not expected here.%s Valid block types are %s.", b.Type, didYouMean(b.Type, topLevelBlocks), quotedList(topLevelBlocks))
			continue
		}
		l.blocks[b.Type] = append(l.blocks[b.Type], b)
	}
}

// unique returns the labelled blocks of a type, dropping (and reporting)
// later duplicates of a name.
func (l *loader) unique(typ string) []*hclsyntax.Block {
	seen := map[string]*hclsyntax.Block{}
	var out []*hclsyntax.Block
	for _, b := range l.blocks[typ] {
		name := b.Labels[0]
		if prev, dup := seen[name]; dup {
			l.errorf(b.LabelRanges[0].Ptr(), "Duplicate "+typ+" name",
				"A %s named %q was already declared at %s. Names must be unique within a block type: rename or remove one of them.", typ, name, prev.DefRange())
			l.diags = append(l.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Duplicate " + typ + " name",
				Detail:  fmt.Sprintf("This %s %q is declared again at %s.", typ, name, b.DefRange()),
				Subject: prev.LabelRanges[0].Ptr(),
			})
			continue
		}
		seen[name] = b
		out = append(out, b)
	}
	return out
}

func blockName(b *hclsyntax.Block) string {
	return fmt.Sprintf("%s %q", b.Type, b.Labels[0])
}

// sortDiagnostics orders diagnostics for reading: those without a source
// range (command line, environment) first, then by file and position.
func sortDiagnostics(diags hcl.Diagnostics) {
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i].Subject, diags[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		default:
			return a.Start.Byte < b.Start.Byte
		}
	})
}
