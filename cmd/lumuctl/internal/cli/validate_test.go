package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/views"
)

func TestValidateJSON(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		wantCode int
		want     []string // severity:summary:line
	}{
		{"valid", "settings {\n  namespace = \"a\"\n}\n", ExitOK, nil},
		{"warning only", "company \"a\" {\n  uuid         = \"10228d9c-ff18-4251-ac19-514185e00f17\"\n  defender_key = \"k\"\n}\n",
			ExitOK, []string{"warning:Credential written as a literal:3"}},
		{"errors", "settings {\n  namespace = \"A-B\"\n}\n\nfoo {\n}\n", ExitError,
			[]string{"error:Invalid namespace:2", "error:Unsupported block type:5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if err := os.WriteFile("main.lumu.hcl", []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runCLI(t, "validate", "--json")
			if code != tc.wantCode || stderr != "" {
				t.Fatalf("exit %d (want %d), stderr %q", code, tc.wantCode, stderr)
			}
			var doc views.ValidateDocument
			dec := json.NewDecoder(strings.NewReader(stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				t.Fatalf("decode: %v\n%s", err, stdout)
			}
			if dec.More() {
				t.Fatalf("more than one JSON document")
			}
			var got []string
			for _, d := range doc.Diagnostics {
				got = append(got, d.Severity+":"+d.Summary+":"+itoa(d.Range.Start.Line))
				if d.Range.Filename != "main.lumu.hcl" {
					t.Errorf("filename %q", d.Range.Filename)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics mismatch (-want +got):\n%s", diff)
			}
			errs, warns := 0, 0
			for _, s := range tc.want {
				if strings.HasPrefix(s, "error") {
					errs++
				} else {
					warns++
				}
			}
			if doc.FormatVersion != "1.0" || doc.Valid != (errs == 0) || doc.ErrorCount != errs || doc.WarningCount != warns {
				t.Errorf("header = %+v", doc)
			}
			if strings.Contains(stdout, `"k"`) {
				t.Errorf("literal credential leaked into JSON:\n%s", stdout)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
