package config

import (
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// hiddenSource is set as hcl.Diagnostic.Extra on diagnostics whose source
// lines would show a credential written as a literal.
type hiddenSource struct{}

// HideSnippet reports whether a renderer must not print the source lines of
// d because they set, or may set, a secret; it prints "(sensitive value)"
// instead. The file name and line are still safe to show. files are the
// parsed sources (config.Parser.Files), also those that failed to parse.
//
// Hidden are: lines holding a credential written as a literal (found when
// the file parsed); every line of a file that is not a *.lumu.hcl file
// (.lumuvars and --var-file files set variables, and with a syntax error
// nobody can tell which, so any line may set a sensitive one); and, in
// *.lumu.hcl files, lines that look like they hold a secret, checked on the
// text so that this also works when the file does not parse: a credential
// or default attribute, or a URL with user information or a query.
func HideSnippet(d *hcl.Diagnostic, files map[string]*hcl.File) bool {
	if _, ok := d.Extra.(hiddenSource); ok {
		return true
	}
	if d.Subject == nil {
		return false
	}
	if !strings.HasSuffix(d.Subject.Filename, ConfigSuffix) {
		return true
	}
	f := files[d.Subject.Filename]
	if f == nil {
		return false
	}
	rng := *d.Subject
	if d.Context != nil {
		rng = hcl.RangeOver(rng, *d.Context)
	}
	start, end := rng.Start.Byte, rng.End.Byte
	if start < 0 || end < start || end > len(f.Bytes) {
		return true
	}
	for start > 0 && f.Bytes[start-1] != '\n' {
		start--
	}
	for end < len(f.Bytes) && f.Bytes[end] != '\n' {
		end++
	}
	return MayHoldSecret(f.Bytes[start:end])
}

// MayHoldSecret reports whether source text of a *.lumu.hcl file looks
// like it holds a secret (see HideSnippet): a credential attribute set to
// anything but a var.NAME reference (a key written bare parses as a
// reference and would be quoted by the error), a variable default (the
// variable may be sensitive), a URL with user information or a query.
func MayHoldSecret(text []byte) bool {
	if secretURLRE.Match(text) {
		return true
	}
	for _, m := range secretAttrRE.FindAllSubmatchIndex(text, -1) {
		name := string(text[m[2]:m[3]])
		if name == "default" || !strings.HasPrefix(string(text[m[1]:]), "var.") {
			return true
		}
	}
	return false
}

var (
	secretAttrRE = regexp.MustCompile(`\b(api_key|defender_key|default)[ \t]*=[ \t]*`)
	secretURLRE  = regexp.MustCompile(`://[^\s"'/]*@|://[^\s"']*\?`)
)

// ScrubURL returns s, a URL as configured, fit to print in a message: user
// information (user:password@) and everything from the first "?" or "#"
// (a Lumu key travels as ?key=...) are replaced by "…". It works on
// strings that do not parse as URLs too.
func ScrubURL(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i] + s[i:i+1] + "…"
	}
	rest, scheme := s, ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, rest = s[:i+3], s[i+3:]
	}
	authEnd := strings.IndexAny(rest, "/?#")
	if authEnd < 0 {
		authEnd = len(rest)
	}
	if at := strings.LastIndex(rest[:authEnd], "@"); at >= 0 {
		rest = "…@" + rest[at+1:]
	}
	return scheme + rest
}

// hideCredentialSnippets marks every diagnostic whose subject shares a line
// with a credential attribute written as a literal.
func (l *loader) hideCredentialSnippets() {
	for _, d := range l.diags {
		if d.Subject == nil || d.Extra != nil {
			continue
		}
		for _, r := range l.literalCreds {
			if r.Filename == d.Subject.Filename && d.Subject.Start.Line <= r.End.Line && d.Subject.End.Line >= r.Start.Line {
				d.Extra = hiddenSource{}
				break
			}
		}
	}
}
