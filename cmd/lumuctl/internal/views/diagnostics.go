package views

import (
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcled"
	"github.com/mitchellh/go-wordwrap"

	"github.com/lumuctl/lumuctl/engine/config"
)

// DiagnosticWidth is the column at which human diagnostic details wrap.
const DiagnosticWidth = 78

// WriteDiagnostics renders diags as human text with source snippets (from
// files, as returned by config.Parser.Files). Errors go to errw and
// warnings to outw, like Terraform; pass the same writer twice to keep
// them together. Colour is used only when color is true.
func WriteDiagnostics(outw, errw io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool) error {
	return WriteDiagnosticsWidth(outw, errw, files, diags, color, DiagnosticWidth)
}

// WriteDiagnosticsWidth is WriteDiagnostics wrapping details at width (0:
// no wrapping).
func WriteDiagnosticsWidth(outw, errw io.Writer, files map[string]*hcl.File, diags hcl.Diagnostics, color bool, width uint) error {
	for _, d := range diags {
		// Summaries and details carry text from Kibana and Lumu (errors,
		// item_ids): no escape sequence reaches the terminal.
		safe := *d
		safe.Summary, safe.Detail = NoControl(d.Summary), NoControlLines(d.Detail)
		d := &safe
		w := outw
		if d.Severity == hcl.DiagError {
			w = errw
		}
		if d.Subject != nil && config.HideSnippet(d, files) {
			// The source line holds a credential: show file:line only.
			if err := writeHidden(w, files, d, color, width); err != nil {
				return err
			}
			continue
		}
		if err := hcl.NewDiagnosticTextWriter(w, files, width, color).WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}

// SensitiveSnippet replaces the source lines of a diagnostic that set or
// may set a secret (config.HideSnippet), in text and in JSON.
const SensitiveSnippet = "(sensitive value)"

// writeHidden renders d like hcl's text writer, but with the source line
// replaced by SensitiveSnippet.
func writeHidden(w io.Writer, files map[string]*hcl.File, d *hcl.Diagnostic, color bool, width uint) error {
	head := "Error: "
	if d.Severity == hcl.DiagWarning {
		head = "Warning: "
	}
	if color {
		if d.Severity == hcl.DiagWarning {
			head = "\x1b[1;33m" + head + "\x1b[0m"
		} else {
			head = "\x1b[1;31m" + head + "\x1b[0m"
		}
	}
	in := ""
	if f := files[d.Subject.Filename]; f != nil {
		if ctx := hcled.ContextString(f, d.Subject.Start.Byte); ctx != "" {
			in = ", in " + ctx
		}
	}
	_, err := fmt.Fprintf(w, "%s%s\n\n  on %s line %d%s:\n%*d: %s\n\n%s\n\n",
		head, d.Summary, d.Subject.Filename, d.Subject.Start.Line, in, 4, d.Subject.Start.Line, SensitiveSnippet,
		wrap(d.Detail, width))
	return err
}

// JSONDiagnostic is the machine form of one diagnostic.
type JSONDiagnostic struct {
	Severity string       `json:"severity"` // "error" or "warning"
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *JSONRange   `json:"range,omitempty"`
	Snippet  *JSONSnippet `json:"snippet,omitempty"`
}

// JSONRange is a source range; lines and columns start at 1, bytes at 0.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is one position in a source file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONSnippet is the source text around a diagnostic's range.
type JSONSnippet struct {
	// Context names the enclosing block, e.g. `ioc_filter "malware"`.
	Context *string `json:"context"`
	// Code is the full source lines that the range covers.
	Code string `json:"code"`
	// StartLine is the line number of the first line of Code.
	StartLine int `json:"start_line"`
	// HighlightStartOffset and HighlightEndOffset are byte offsets into
	// Code of the range itself.
	HighlightStartOffset int `json:"highlight_start_offset"`
	HighlightEndOffset   int `json:"highlight_end_offset"`
}

// NewJSONDiagnostic converts d, attaching a snippet when its file is known.
func NewJSONDiagnostic(d *hcl.Diagnostic, files map[string]*hcl.File) JSONDiagnostic {
	jd := JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
	if d.Severity == hcl.DiagWarning {
		jd.Severity = "warning"
	}
	if d.Subject == nil {
		return jd
	}
	s := *d.Subject
	jd.Range = &JSONRange{
		Filename: s.Filename,
		Start:    JSONPos{Line: s.Start.Line, Column: s.Start.Column, Byte: s.Start.Byte},
		End:      JSONPos{Line: s.End.Line, Column: s.End.Column, Byte: s.End.Byte},
	}
	f := files[s.Filename]
	if f == nil || s.Start.Byte < 0 || s.End.Byte < s.Start.Byte || s.End.Byte > len(f.Bytes) {
		return jd
	}
	if config.HideSnippet(d, files) {
		jd.Snippet = &JSONSnippet{Code: SensitiveSnippet, StartLine: s.Start.Line}
		if ctx := hcled.ContextString(f, s.Start.Byte); ctx != "" {
			jd.Snippet.Context = &ctx
		}
		return jd
	}
	src := f.Bytes
	lineStart := s.Start.Byte
	for lineStart > 0 && src[lineStart-1] != '\n' {
		lineStart--
	}
	lineEnd := s.End.Byte
	if lineEnd > lineStart && lineEnd > s.Start.Byte && src[lineEnd-1] == '\n' {
		lineEnd--
	}
	for lineEnd < len(src) && src[lineEnd] != '\n' {
		lineEnd++
	}
	code := string(src[lineStart:lineEnd])
	snip := &JSONSnippet{
		Code:                 trimCR(code),
		StartLine:            s.Start.Line,
		HighlightStartOffset: s.Start.Byte - lineStart,
		HighlightEndOffset:   min(s.End.Byte-lineStart, len(code)),
	}
	if ctx := hcled.ContextString(f, s.Start.Byte); ctx != "" {
		snip.Context = &ctx
	}
	jd.Snippet = snip
	return jd
}

func trimCR(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\r' {
		return s[:len(s)-1]
	}
	return s
}

// CountDiagnostics returns the number of errors and warnings in diags.
func CountDiagnostics(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

func wrap(s string, width uint) string {
	if width == 0 {
		return s
	}
	return wordwrap.WrapString(s, width)
}
