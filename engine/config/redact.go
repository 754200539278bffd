package config

import "github.com/hashicorp/hcl/v2"

// hiddenSource is set as hcl.Diagnostic.Extra on diagnostics whose source
// lines would show a credential written as a literal.
type hiddenSource struct{}

// HideSnippet reports whether a renderer must not print the source lines of
// d (because they hold a literal credential). The file name and line are
// still safe to show.
func HideSnippet(d *hcl.Diagnostic) bool {
	_, ok := d.Extra.(hiddenSource)
	return ok
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
