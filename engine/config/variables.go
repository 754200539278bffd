package config

import (
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var variableSchema = bodySchema{
	what:  "a variable block",
	attrs: []string{"type", "sensitive", "description", "default"},
}

// allowedVarTypes are the variable types lumuctl supports.
var allowedVarTypes = []cty.Type{cty.String, cty.Number, cty.Bool, cty.List(cty.String)}

func (l *loader) declareVariables() {
	for _, b := range l.unique("variable") {
		name := b.Labels[0]
		v := &Variable{Name: name, Type: cty.String, DeclRange: b.DefRange()}
		c := l.checkBody(b.Body, variableSchema, b.DefRange())
		w := func(a string) where { return where{a, blockName(b)} }
		if a := c.attrs["type"]; a != nil {
			ty, d := typeexpr.TypeConstraint(a.Expr)
			good := !d.HasErrors()
			if good {
				good = false
				for _, t := range allowedVarTypes {
					if ty.Equals(t) {
						good = true
					}
				}
			}
			if !good {
				l.errorf(a.Expr.Range().Ptr(), "Invalid variable type",
					"The type of variable %q must be one of string, number, bool or list(string).", name)
			} else {
				v.Type = ty
			}
		}
		if a := c.attrs["sensitive"]; a != nil {
			if val, ok := l.constant(a, cty.Bool, w("sensitive")); ok {
				v.Sensitive = val.True()
			}
		}
		if a := c.attrs["description"]; a != nil {
			if val, ok := l.constant(a, cty.String, w("description")); ok {
				v.Description = val.AsString()
			}
		}
		v.Value = cty.UnknownVal(v.Type)
		if a := c.attrs["default"]; a != nil {
			if val, ok := l.constant(a, v.Type, w("default")); ok {
				v.Default = val
				v.Value = val
				v.Source = "default"
			}
		}
		l.vars[name] = v
	}
}

// constant evaluates an expression that may not reference anything.
func (l *loader) constant(attr *hclsyntax.Attribute, ty cty.Type, w where) (cty.Value, bool) {
	if vars := attr.Expr.Variables(); len(vars) > 0 {
		l.errorf(vars[0].SourceRange().Ptr(), "Variables not allowed", "The %s cannot refer to variables or blocks; use a literal value.", w)
		return cty.NilVal, false
	}
	v, d := attr.Expr.Value(nil)
	l.diags = append(l.diags, d...)
	if d.HasErrors() {
		return cty.NilVal, false
	}
	if v.IsNull() {
		l.errorf(attr.Expr.Range().Ptr(), "Null value", "The %s cannot be null.", w)
		return cty.NilVal, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil || !cv.IsWhollyKnown() {
		l.errorf(attr.Expr.Range().Ptr(), "Incorrect attribute value type", "Inappropriate value for %s: %s is required.", w, friendlyType(ty))
		return cty.NilVal, false
	}
	return cv, true
}

// resolveVariables applies every value source in precedence order and
// builds the evaluation context.
func (l *loader) resolveVariables(varFiles []source) {
	names := slices.Sorted(maps.Keys(l.vars))
	// Environment.
	if l.opts.Getenv != nil {
		for _, n := range names {
			env := EnvVarPrefix + n
			raw := l.opts.Getenv(env)
			if raw == "" {
				continue
			}
			l.setRaw(n, raw, "environment variable "+env, nil)
		}
	}
	// lumuctl.lumuvars, then *.auto.lumuvars (LoadDir passes them in order).
	for _, f := range varFiles {
		l.varsFile(f)
	}
	// Command line, in order.
	for _, a := range l.opts.Vars {
		switch {
		case a.File != "":
			data, err := ReadSource(a.File)
			if err != nil {
				l.errorf(nil, "Cannot read variables file", "Reading --var-file %s failed: %s.", a.File, errText(err))
				continue
			}
			l.varsFile(source{name: a.File, data: data})
		default:
			name, raw, ok := strings.Cut(a.Assign, "=")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				l.errorf(nil, "Invalid --var option",
					"The option --var %q is not correctly specified: give a variable name and a value separated by an equals sign, like --var lumu_key=VALUE.", a.Assign)
				continue
			}
			if _, declared := l.vars[name]; !declared {
				l.errorf(nil, "Value for undeclared variable",
					"A value was given with --var for the variable %q, which is not declared.%s Declare it with a variable %q block, or remove the option.", name, didYouMean(name, names), name)
				continue
			}
			l.setRaw(name, raw, "--var", nil)
		}
	}
	// Required variables.
	obj := map[string]cty.Value{}
	for _, n := range names {
		v := l.vars[n]
		if !v.Value.IsKnown() && v.Source == "" && !l.opts.Offline {
			l.errorf(v.DeclRange.Ptr(), "No value for required variable",
				"The variable %q is required but has no value. Set it with the environment variable %s%s, in %s or a *%s file, or with --var %s=VALUE.",
				n, EnvVarPrefix, n, VarsFile, AutoVarsSuffix, n)
		}
		val := v.Value
		if v.Sensitive {
			val = val.Mark(sensitiveMark{})
		}
		obj[n] = val
	}
	l.evalCtx = &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(obj)}}
}

// setRaw sets a variable from a command-line or environment string: raw for
// strings, an HCL expression for other types.
func (l *loader) setRaw(name, raw, from string, subject *hcl.Range) {
	v := l.vars[name]
	var val cty.Value
	if v.Type == cty.String {
		val = cty.StringVal(raw)
	} else {
		if d := CheckSource(from, []byte(raw)); d.HasErrors() {
			l.errorf(subject, "Invalid value for variable", "The value given for variable %q by %s is refused: %s %s", name, from, d[0].Summary+".", d[0].Detail)
			return
		}
		expr, d := hclsyntax.ParseExpression([]byte(raw), from, hcl.InitialPos)
		if !d.HasErrors() && len(expr.Variables()) == 0 {
			val, d = expr.Value(nil)
		}
		if d.HasErrors() || val == cty.NilVal {
			l.errorf(subject, "Invalid value for variable",
				"The value given for variable %q by %s is not a valid %s value. For example: %s.", name, from, v.Type.FriendlyName(), typeExample(v.Type))
			return
		}
	}
	l.assign(v, val, from, subject)
}

func typeExample(ty cty.Type) string {
	switch {
	case ty == cty.Number:
		return "30"
	case ty == cty.Bool:
		return "true"
	default:
		return `["a", "b"]`
	}
}

// assign converts val to the variable's type and stores it.
func (l *loader) assign(v *Variable, val cty.Value, from string, subject *hcl.Range) {
	cv, err := convert.Convert(val, v.Type)
	if err != nil || cv.IsNull() || !cv.IsWhollyKnown() {
		l.errorf(subject, "Invalid value for variable",
			"The value given for variable %q by %s is not a valid %s value. For example: %s.", v.Name, from, v.Type.FriendlyName(), typeExample(v.Type))
		return
	}
	v.Value = cv
	v.Source = from
}

// varsFile applies one .lumuvars file.
func (l *loader) varsFile(src source) {
	if d := CheckSource(src.name, src.data); d.HasErrors() {
		l.diags = append(l.diags, d...)
		return
	}
	f, d := l.p.p.ParseHCL(src.data, src.name)
	l.diags = append(l.diags, d...)
	if f == nil || d.HasErrors() {
		return
	}
	attrs, d := f.Body.JustAttributes()
	l.diags = append(l.diags, d...)
	for _, a := range sortedAttrs(attrs) {
		v, declared := l.vars[a.Name]
		if !declared {
			l.warnf(a.NameRange.Ptr(), "Value for undeclared variable",
				"The file %s sets %q, but no variable %q is declared.%s Declare it with a variable block, or remove the line.", src.name, a.Name, a.Name, didYouMean(a.Name, slices.Sorted(maps.Keys(l.vars))))
			continue
		}
		if vars := a.Expr.Variables(); len(vars) > 0 {
			l.errorf(vars[0].SourceRange().Ptr(), "Variables not allowed", "Values in %s must be literals; they cannot refer to variables or blocks.", src.name)
			continue
		}
		val, d := a.Expr.Value(nil)
		l.diags = append(l.diags, d...)
		if d.HasErrors() {
			continue
		}
		l.assign(v, val, src.name, a.Expr.Range().Ptr())
	}
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Range.Start.Byte < out[j-1].Range.Start.Byte; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
