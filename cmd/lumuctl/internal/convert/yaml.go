package convert

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"go.yaml.in/yaml/v3"
)

// reader walks one YAML file's node tree and collects diagnostics that name
// the file and the line and column of the node they are about. It never
// quotes a scalar's value in a message: a value may be a key.
type reader struct {
	file  string
	diags hcl.Diagnostics
}

// yamlErrRE matches the line number go.yaml.in/yaml/v3 puts in its syntax
// errors ("yaml: line 3: mapping values are not allowed in this context").
var yamlErrRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse decodes data into its root node. An empty file gives nil.
func (r *reader) parse(data []byte) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := 0, err.Error()
		if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		} else {
			msg = strings.TrimPrefix(msg, "yaml: ")
		}
		hint := ""
		if strings.HasPrefix(msg, "did not find expected") {
			hint = " The parser names the line where the enclosing block or list starts; the mistake is there or below it, often a wrong indentation."
		}
		r.errorAt(line, 0, "Malformed YAML", "%s is not valid YAML: %s.%s", r.file, msg, hint)
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil
	}
	return deref(doc.Content[0])
}

// deref follows an alias (*name) to its anchor.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func (r *reader) rng(line, col int) *hcl.Range {
	if col < 1 {
		col = 1
	}
	p := hcl.Pos{Line: line, Column: col}
	return &hcl.Range{Filename: r.file, Start: p, End: p}
}

func (r *reader) add(sev hcl.DiagnosticSeverity, line, col int, summary, format string, args ...any) {
	d := &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(format, args...)}
	if line > 0 {
		d.Subject = r.rng(line, col)
	}
	r.diags = append(r.diags, d)
}

func (r *reader) errorAt(line, col int, summary, format string, args ...any) {
	r.add(hcl.DiagError, line, col, summary, format, args...)
}

func (r *reader) errorf(n *yaml.Node, summary, format string, args ...any) {
	r.add(hcl.DiagError, n.Line, n.Column, summary, format, args...)
}

func (r *reader) warnf(n *yaml.Node, summary, format string, args ...any) {
	r.add(hcl.DiagWarning, n.Line, n.Column, summary, format, args...)
}

// field is one key of a mapping: the key node (for its position) and the value.
type field struct {
	key, val *yaml.Node
}

// mapping returns the fields of n by key, with a warning for each key not
// in known and an error for a key given twice. what names the mapping in
// messages ("the lumu section of an entry").
func (r *reader) mapping(n *yaml.Node, what string, known ...string) (map[string]field, bool) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		r.errorf(n, "Wrong type", "%s must be a mapping of keys to values, not %s.", capital(what), kindName(n))
		return nil, false
	}
	out := make(map[string]field, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], deref(n.Content[i+1])
		name := k.Value
		if prev, dup := out[name]; dup {
			r.errorf(k, "Duplicate key", "%q is given twice in %s (first on line %d).", name, what, prev.key.Line)
			continue
		}
		out[name] = field{key: k, val: v}
		if !contains(known, name) {
			hint := ""
			if s := suggest(name, known); s != "" {
				hint = fmt.Sprintf(" Did you mean %q?", s)
			}
			r.warnf(k, "Unknown field", "%q is not a field of %s that lumuctl convert knows; it is ignored.%s", name, what, hint)
		}
	}
	return out, true
}

// isNull reports whether v is absent or an explicit null ("key:" alone).
func isNull(v *yaml.Node) bool {
	return v == nil || (v.Kind == yaml.ScalarNode && v.Tag == "!!null")
}

// str returns the scalar string of a field; ok is false (with an error)
// when it is not a scalar. Absent or null gives "", true.
func (r *reader) str(f field, what string) (string, bool) {
	if isNull(f.val) {
		return "", true
	}
	if f.val.Kind != yaml.ScalarNode {
		r.errorf(f.val, "Wrong type", "%s must be a single value, not %s.", what, kindName(f.val))
		return "", false
	}
	return f.val.Value, true
}

// integer returns the integer of a field.
func (r *reader) integer(f field, what string) (int, bool) {
	if f.val.Kind != yaml.ScalarNode || f.val.Tag != "!!int" {
		r.errorf(f.val, "Wrong type", "%s must be a whole number, not %s.", what, kindName(f.val))
		return 0, false
	}
	v, err := strconv.Atoi(f.val.Value)
	if err != nil {
		r.errorf(f.val, "Wrong type", "%s must be a whole number: %v.", what, err)
		return 0, false
	}
	return v, true
}

// boolean returns the boolean of a field.
func (r *reader) boolean(f field, what string) (bool, bool) {
	var b bool
	if f.val.Kind != yaml.ScalarNode || f.val.Tag != "!!bool" || f.val.Decode(&b) != nil {
		r.errorf(f.val, "Wrong type", "%s must be true or false, not %s.", what, kindName(f.val))
		return false, false
	}
	return b, true
}

// list returns the scalar strings of a sequence field.
func (r *reader) list(f field, what string) ([]string, bool) {
	if isNull(f.val) {
		return nil, true
	}
	if f.val.Kind != yaml.SequenceNode {
		r.errorf(f.val, "Wrong type", "%s must be a list, not %s.", what, kindName(f.val))
		return nil, false
	}
	out := make([]string, 0, len(f.val.Content))
	ok := true
	for _, e := range f.val.Content {
		e = deref(e)
		if e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
			r.errorf(e, "Wrong type", "Each element of %s must be a single value, not %s.", what, kindName(e))
			ok = false
			continue
		}
		out = append(out, e.Value)
	}
	return out, ok
}

// kindName describes a node for messages without quoting its value.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "an empty value"
		case "!!int", "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		default:
			return "a string"
		}
	}
	return "an unexpected node"
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// suggest returns the known name closest to name (case-insensitive, or one
// edit away), or "".
func suggest(name string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, name) || strings.EqualFold(strings.ReplaceAll(k, "_", ""), strings.ReplaceAll(name, "_", "")) {
			return k
		}
	}
	for _, k := range known {
		if editDistance(strings.ToLower(k), strings.ToLower(name)) <= 2 {
			return k
		}
	}
	return ""
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
