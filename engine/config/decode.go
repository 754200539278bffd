package config

import (
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// sensitiveMark marks cty values that came from a sensitive variable.
type sensitiveMark struct{}

// bodySchema describes what a block body may contain.
type bodySchema struct {
	what     string   // "a company block"
	attrs    []string // allowed attributes, documented order
	required []string
	blocks   []string // allowed nested block types (each at most once)
	labeled  []string // those of blocks that take exactly one label
}

// content is a checked block body.
type content struct {
	attrs  map[string]*hclsyntax.Attribute
	blocks map[string]*hclsyntax.Block
}

// checkBody reports unknown, duplicate and missing attributes and blocks.
// subject is where a missing attribute is reported (the block header).
func (l *loader) checkBody(body *hclsyntax.Body, s bodySchema, subject hcl.Range) content {
	c := content{attrs: map[string]*hclsyntax.Attribute{}, blocks: map[string]*hclsyntax.Block{}}
	allowed := map[string]bool{}
	for _, a := range s.attrs {
		allowed[a] = true
	}
	allowedBlocks := map[string]bool{}
	for _, b := range s.blocks {
		allowedBlocks[b] = true
	}
	// hclsyntax keeps attributes in a map; report in source order.
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, a := range body.Attributes {
		attrs = append(attrs, a)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	for _, a := range attrs {
		if !allowed[a.Name] {
			detail := fmt.Sprintf("An attribute named %q is not expected in %s.", a.Name, s.what)
			if allowedBlocks[a.Name] {
				detail = fmt.Sprintf("%q is a block, not an attribute: write %s { ... } without the equals sign.", a.Name, a.Name)
			} else {
				detail += didYouMean(a.Name, s.attrs) + " Valid attributes are " + quotedList(s.attrs) + "."
			}
			l.errorf(a.NameRange.Ptr(), "Unsupported attribute", "%s", detail)
			continue
		}
		c.attrs[a.Name] = a
	}
	for _, b := range body.Blocks {
		if !allowedBlocks[b.Type] {
			detail := fmt.Sprintf("Blocks of type %q are not expected in %s.", b.Type, s.what)
			if allowed[b.Type] {
				detail = fmt.Sprintf("%q is an attribute, not a block: write %s = ... instead.", b.Type, b.Type)
			} else if len(s.blocks) > 0 {
				detail += didYouMean(b.Type, s.blocks) + " Valid block types are " + quotedList(s.blocks) + "."
			} else {
				detail += " This block takes attributes only" + didYouMean(b.Type, s.attrs) + ""
				if !strings.HasSuffix(detail, "?") {
					detail += "."
				}
			}
			l.errorf(b.TypeRange.Ptr(), "Unsupported block type", "%s", detail)
			continue
		}
		if slices.Contains(s.labeled, b.Type) {
			if len(b.Labels) != 1 {
				l.errorf(b.TypeRange.Ptr(), "Wrong number of labels", "A %s block takes exactly one label, its type: write %s \"NAME\" { ... }.", b.Type, b.Type)
				continue
			}
		} else if len(b.Labels) > 0 {
			l.errorf(b.LabelRanges[0].Ptr(), "Extraneous label", "A %s block takes no labels. Remove %q.", b.Type, b.Labels[0])
		}
		if prev, dup := c.blocks[b.Type]; dup {
			l.errorf(b.TypeRange.Ptr(), "Duplicate "+b.Type+" block",
				"Only one %s block is allowed in %s; another was defined at %s. Merge them into one.", b.Type, s.what, prev.TypeRange)
			continue
		}
		c.blocks[b.Type] = b
	}
	for _, r := range s.required {
		if _, ok := c.attrs[r]; !ok {
			if _, exists := body.Attributes[r]; exists {
				continue
			}
			l.errorf(subject.Ptr(), "Missing required attribute",
				"The attribute %q is required in %s. Add %s = ... to the block.", r, s.what, r)
		}
	}
	return c
}

func (l *loader) errorf(subject *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject})
}

func (l *loader) warnf(subject *hcl.Range, summary, format string, args ...any) {
	l.diags = append(l.diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject})
}

// where names an attribute for messages: `days in ioc_filter "x"`.
type where struct {
	attr  string
	block string // `ioc_filter "x"`
}

func (w where) String() string { return fmt.Sprintf("%s in %s", w.attr, w.block) }

// lead starts a sentence: `In ioc_filter "x", days`.
func (w where) lead() string { return fmt.Sprintf("In %s, %s", w.block, w.attr) }

// value evaluates attr against the variables and converts it to ty.
// ok is false when an error was reported. The returned value is unmarked;
// sensitive says whether any part came from a sensitive variable. The value
// may be unknown (offline mode), never null when ok.
func (l *loader) value(attr *hclsyntax.Attribute, ty cty.Type, w where) (v cty.Value, sensitive, ok bool) {
	if !l.checkRefs(attr.Expr) {
		return cty.NilVal, false, false
	}
	v, d := attr.Expr.Value(l.evalCtx)
	l.diags = append(l.diags, d...)
	if d.HasErrors() {
		return cty.NilVal, false, false
	}
	v, marks := v.UnmarkDeep()
	sensitive = len(marks) > 0
	if v.IsNull() {
		l.errorf(attr.Expr.Range().Ptr(), "Null value", "The value of %s is null. Remove the attribute to use its default, or give it a value.", w)
		return cty.NilVal, sensitive, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		l.errorf(attr.Expr.Range().Ptr(), "Incorrect attribute value type", "Inappropriate value for %s: %s is required.", w, friendlyType(ty))
		return cty.NilVal, sensitive, false
	}
	return cv, sensitive, true
}

func friendlyType(ty cty.Type) string {
	switch {
	case ty == cty.String:
		return "a string"
	case ty == cty.Number:
		return "a number"
	case ty == cty.Bool:
		return "a bool (true or false)"
	case ty.IsListType():
		return "a list of " + strings.TrimPrefix(strings.TrimPrefix(friendlyType(ty.ElementType()), "a "), "an ") + "s"
	}
	return ty.FriendlyName()
}

// checkRefs allows only var.NAME references to declared variables.
func (l *loader) checkRefs(expr hcl.Expression) bool {
	ok := true
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		if root != "var" {
			// Only a block reference is named: anything else may be a
			// credential written without quotes (it parses as a reference).
			what := "This reference"
			if slices.Contains(topLevelBlocks, root) {
				what = traversalString(tr)
			}
			l.errorf(tr.SourceRange().Ptr(), "Invalid reference",
				"%s cannot be used here: only variables (var.NAME) can be referenced in this attribute. Block references such as company.NAME belong in the company, kibana and sources attributes.", what)
			ok = false
			continue
		}
		name, rng, good := varName(tr)
		if !good {
			l.errorf(tr.SourceRange().Ptr(), "Invalid variable reference", "A variable is referenced as var.NAME, for example var.lumu_key.")
			ok = false
			continue
		}
		if _, declared := l.vars[name]; !declared {
			l.errorf(rng.Ptr(), "Reference to undeclared variable",
				"There is no variable named %q.%s Declare it with a variable %q block.", name, didYouMean(name, slices.Sorted(maps.Keys(l.vars))), name)
			ok = false
		}
	}
	return ok
}

func varName(tr hcl.Traversal) (string, hcl.Range, bool) {
	if len(tr) < 2 {
		return "", hcl.Range{}, false
	}
	a, isAttr := tr[1].(hcl.TraverseAttr)
	if !isAttr {
		return "", hcl.Range{}, false
	}
	return a.Name, hcl.RangeBetween(tr[0].SourceRange(), a.SrcRange), true
}

func traversalString(tr hcl.Traversal) string {
	var b strings.Builder
	for _, s := range tr {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		default:
			b.WriteString("[...]")
		}
	}
	return b.String()
}

// plain refuses sensitive values in attributes that lumuctl prints.
func (l *loader) plain(attr *hclsyntax.Attribute, sensitive bool, w where) bool {
	if sensitive {
		l.errorf(attr.Expr.Range().Ptr(), "Sensitive value not allowed",
			"The value of %s comes from a sensitive variable, but lumuctl shows this attribute in plans, logs and state. Only defender_key, api_key, name, contact_name and contact_email accept sensitive values: remove sensitive = true from the variable or use another one.", w)
		return false
	}
	return true
}

// str decodes a plain string attribute. known is false for unknown values.
func (l *loader) str(attr *hclsyntax.Attribute, w where) (s string, known, ok bool) {
	v, sens, ok := l.value(attr, cty.String, w)
	if !ok || !l.plain(attr, sens, w) {
		return "", false, false
	}
	if !v.IsKnown() {
		return "", false, true
	}
	return v.AsString(), true, true
}

// boolean decodes a plain bool attribute.
func (l *loader) boolean(attr *hclsyntax.Attribute, w where) (b, known, ok bool) {
	v, sens, ok := l.value(attr, cty.Bool, w)
	if !ok || !l.plain(attr, sens, w) {
		return false, false, false
	}
	if !v.IsKnown() {
		return false, false, true
	}
	return v.True(), true, true
}

// integer decodes a whole number in [lo, hi].
func (l *loader) integer(attr *hclsyntax.Attribute, w where, lo, hi int64) (n int, known, ok bool) {
	v, sens, ok := l.value(attr, cty.Number, w)
	if !ok || !l.plain(attr, sens, w) {
		return 0, false, false
	}
	if !v.IsKnown() {
		return 0, false, true
	}
	return l.checkInt(v.AsBigFloat(), attr.Expr.Range(), w, lo, hi)
}

func (l *loader) checkInt(f *big.Float, rng hcl.Range, w where, lo, hi int64) (int, bool, bool) {
	i, acc := f.Int64()
	if acc != big.Exact || !f.IsInt() {
		l.errorf(rng.Ptr(), "Invalid value", "%s must be a whole number between %d and %d.", w.lead(), lo, hi)
		return 0, false, false
	}
	if i < lo || i > hi {
		l.errorf(rng.Ptr(), "Invalid value", "%s must be between %d and %d; got %d.", w.lead(), lo, hi, i)
		return 0, false, false
	}
	return int(i), true, true
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// duration decodes a positive Go duration string ("30s", "2m").
func (l *loader) duration(attr *hclsyntax.Attribute, w where) (time.Duration, bool, bool) {
	s, known, ok := l.str(attr, w)
	if !ok || !known {
		return 0, known, ok
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		l.errorf(attr.Expr.Range().Ptr(), "Invalid duration",
			"%s must be a positive duration such as \"30s\", \"2m\" or \"1h30m\"; got %q.", w.lead(), s)
		return 0, false, false
	}
	return d, true, true
}

// listElem is one element of a decoded list(string).
type listElem struct {
	s     string
	known bool
	rng   hcl.Range
}

// strList decodes a list(string). Element ranges point at the element when
// the list is written literally, else at the whole expression. known is
// false when the whole list is unknown.
func (l *loader) strList(attr *hclsyntax.Attribute, w where) (elems []listElem, known, ok bool) {
	v, sens, ok := l.value(attr, cty.List(cty.String), w)
	if !ok || !l.plain(attr, sens, w) {
		return nil, false, false
	}
	if !v.IsKnown() {
		return nil, false, true
	}
	tuple, _ := attr.Expr.(*hclsyntax.TupleConsExpr)
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, ev := it.Element()
		rng := attr.Expr.Range()
		if tuple != nil && i < len(tuple.Exprs) {
			rng = tuple.Exprs[i].Range()
		}
		e := listElem{known: ev.IsKnown(), rng: rng}
		if ev.IsNull() {
			l.errorf(rng.Ptr(), "Null value", "%s must not contain null elements.", w.lead())
			return nil, false, false
		}
		if e.known {
			e.s = ev.AsString()
		}
		elems = append(elems, e)
	}
	return elems, true, true
}

// enumList decodes a list of values from allowed (matched exactly, or
// case-insensitively when fold is set, returning the canonical spelling),
// rejecting empty lists and duplicates. extra, when non-nil, may explain a
// specific rejected value (return "" to fall back to the generic message).
func (l *loader) enumList(attr *hclsyntax.Attribute, w where, allowed []string, fold bool, extra func(string) string) ([]string, bool) {
	elems, known, ok := l.strList(attr, w)
	if !ok || !known {
		return nil, ok
	}
	if !l.nonEmpty(attr, len(elems), w) {
		return nil, false
	}
	var out []string
	seen := map[string]hcl.Range{}
	good := true
	for _, e := range elems {
		if !e.known {
			continue
		}
		canon := ""
		for _, a := range allowed {
			if e.s == a || (fold && strings.EqualFold(e.s, a)) {
				canon = a
				break
			}
		}
		if canon == "" {
			detail := ""
			if extra != nil {
				detail = extra(e.s)
			}
			if detail == "" {
				detail = fmt.Sprintf("%q is not a valid value for %s.%s Allowed values are %s.", e.s, w, didYouMean(e.s, allowed), quotedList(allowed))
			}
			l.errorf(e.rng.Ptr(), "Invalid value", "%s", detail)
			good = false
			continue
		}
		if prev, dup := seen[canon]; dup {
			l.duplicateEntry(e.rng, prev, e.s, w)
			good = false
			continue
		}
		seen[canon] = e.rng
		out = append(out, canon)
	}
	return out, good
}

func (l *loader) nonEmpty(attr *hclsyntax.Attribute, n int, w where) bool {
	if n == 0 {
		l.errorf(attr.Expr.Range().Ptr(), "Empty list", "%s must list at least one value. Remove the attribute to use its default.", w.lead())
		return false
	}
	return true
}

func (l *loader) duplicateEntry(rng, prev hcl.Range, s string, w where) {
	l.errorf(rng.Ptr(), "Duplicate list entry", "%q appears more than once in %s (first at line %d). Remove the repeated entry.", s, w, prev.Start.Line)
}
