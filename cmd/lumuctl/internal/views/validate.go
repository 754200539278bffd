package views

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// ValidateFormatVersion is the format_version of `validate --json`; bump it
// whenever the document's shape changes.
const ValidateFormatVersion = "1.0"

// Validate renders the result of `lumuctl validate`.
type Validate interface {
	// Results reports diags (with files for snippets). It does not decide
	// the exit code.
	Results(diags hcl.Diagnostics, files map[string]*hcl.File) error
}

var (
	_ Validate = (*ValidateHuman)(nil)
	_ Validate = (*ValidateJSON)(nil)
)

// NewValidate returns the JSON view when asJSON is set, else the human one.
func NewValidate(asJSON bool, stdout, stderr io.Writer, color bool) Validate {
	if asJSON {
		return &ValidateJSON{Stdout: stdout}
	}
	return &ValidateHuman{Stdout: stdout, Stderr: stderr, Color: color}
}

// ValidateHuman prints diagnostics with snippets and a success line.
type ValidateHuman struct {
	Stdout, Stderr io.Writer
	Color          bool
}

// Results implements Validate.
func (v *ValidateHuman) Results(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	if err := WriteDiagnostics(v.Stdout, v.Stderr, files, diags, v.Color); err != nil {
		return err
	}
	errs, warns := CountDiagnostics(diags)
	if errs > 0 {
		return nil
	}
	msg := "Success! The configuration is valid."
	if warns > 0 {
		msg = fmt.Sprintf("Success! The configuration is valid, but there %s %d %s.", plural(warns, "was", "were"), warns, plural(warns, "warning", "warnings"))
	}
	if v.Color {
		msg = "\x1b[1;32m" + msg + "\x1b[0m"
	}
	_, err := fmt.Fprintln(v.Stdout, msg)
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ValidateJSON prints exactly one JSON document.
type ValidateJSON struct {
	Stdout io.Writer
}

// ValidateDocument is the `validate --json` document.
type ValidateDocument struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []JSONDiagnostic `json:"diagnostics"`
}

// Results implements Validate.
func (v *ValidateJSON) Results(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	errs, warns := CountDiagnostics(diags)
	doc := ValidateDocument{
		FormatVersion: ValidateFormatVersion,
		Valid:         errs == 0,
		ErrorCount:    errs,
		WarningCount:  warns,
		Diagnostics:   []JSONDiagnostic{},
	}
	for _, d := range diags {
		doc.Diagnostics = append(doc.Diagnostics, NewJSONDiagnostic(d, files))
	}
	enc := json.NewEncoder(v.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
