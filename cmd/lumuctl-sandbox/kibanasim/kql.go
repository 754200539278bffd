package kibanasim

import (
	"fmt"
	"path"
	"strings"
	"unicode"
)

// This file is the small KQL subset the stand-in understands in `filter`
// (and Fleet's `kuery`): field:value, field:"quoted literal", an unquoted
// `*` wildcard (a quoted `*` is a literal character, as in KQL), and/or/not
// (any case), parentheses around expressions and around value lists
// (field:(a or b)). Anything else — ranges, nested {} queries, field-less
// terms, unknown fields — is an error, never "match everything".

// kqlNode is a parsed filter.
type kqlNode interface {
	eval(get func(field string) []string) bool
}

type kqlAnd struct{ l, r kqlNode }
type kqlOr struct{ l, r kqlNode }
type kqlNot struct{ x kqlNode }

// kqlLeaf matches when any value of field matches lit.
type kqlLeaf struct {
	field string
	lit   kqlLit
}

// kqlLit is a value: runes plus, for unquoted values, which runes are
// wildcards.
type kqlLit struct {
	text string
	wild []bool // nil for quoted or wildcard-free values
}

func (n kqlAnd) eval(g func(string) []string) bool { return n.l.eval(g) && n.r.eval(g) }
func (n kqlOr) eval(g func(string) []string) bool  { return n.l.eval(g) || n.r.eval(g) }
func (n kqlNot) eval(g func(string) []string) bool { return !n.x.eval(g) }
func (n kqlLeaf) eval(g func(string) []string) bool {
	for _, v := range g(n.field) {
		if n.lit.match(v) {
			return true
		}
	}
	return false
}

func (l kqlLit) match(v string) bool {
	if l.wild == nil {
		return v == l.text
	}
	// Build a path.Match pattern with every literal rune escaped.
	var b strings.Builder
	for i, r := range []rune(l.text) {
		if l.wild[i] {
			b.WriteByte('*')
			continue
		}
		if r == '*' || r == '?' || r == '[' || r == '\\' || r == '/' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	// path.Match's * does not cross '/', so match on a '/'-free encoding.
	pat := strings.ReplaceAll(b.String(), `\/`, "\x00")
	ok, err := path.Match(pat, strings.ReplaceAll(v, "/", "\x00"))
	return err == nil && ok
}

type kqlTok struct {
	kind byte // '(', ')', ':', 'w' word, 'q' quoted, 'k' keyword
	text string
	wild []bool
	pos  int
}

// KQLError is a filter the stand-in cannot parse or does not support.
type KQLError struct{ Msg string }

func (e *KQLError) Error() string { return "KQLSyntaxError: " + e.Msg }

func kqlErr(format string, args ...any) *KQLError {
	return &KQLError{Msg: fmt.Sprintf(format, args...)}
}

func kqlLex(src string) ([]kqlTok, error) {
	rs := []rune(src)
	var toks []kqlTok
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(' || r == ')' || r == ':':
			toks = append(toks, kqlTok{kind: byte(r), pos: i})
			i++
		case r == '<' || r == '>' || r == '{' || r == '}':
			return nil, kqlErr("%q at %d: range and nested queries are not supported by the Kibana stand-in", string(r), i)
		case r == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(rs) && rs[j] != '"'; j++ {
				if rs[j] == '\\' && j+1 < len(rs) {
					j++
				}
				b.WriteRune(rs[j])
			}
			if j >= len(rs) {
				return nil, kqlErr("unterminated quoted value starting at %d", i)
			}
			toks = append(toks, kqlTok{kind: 'q', text: b.String(), pos: i})
			i = j + 1
		default:
			var b strings.Builder
			var wild []bool
			anyWild, escaped := false, false
			j := i
			for ; j < len(rs); j++ {
				c := rs[j]
				if c == '\\' {
					if j+1 >= len(rs) {
						return nil, kqlErr("dangling escape at %d", j)
					}
					j++
					b.WriteRune(rs[j])
					wild = append(wild, false)
					escaped = true
					continue
				}
				if unicode.IsSpace(c) || strings.ContainsRune(`():<>"{}`, c) {
					break
				}
				b.WriteRune(c)
				wild = append(wild, c == '*')
				anyWild = anyWild || c == '*'
			}
			t := kqlTok{kind: 'w', text: b.String(), pos: i}
			if anyWild {
				t.wild = wild
			}
			if !escaped && !anyWild {
				switch strings.ToLower(t.text) {
				case "or", "and", "not":
					t.kind, t.text = 'k', strings.ToLower(t.text)
				}
			}
			toks = append(toks, t)
			i = j
		}
	}
	return toks, nil
}

type kqlParser struct {
	toks   []kqlTok
	i      int
	fields func(name string) (string, error) // maps a filter field to a stored field
}

// parseKQL parses src; fields resolves a field name (returning an error for
// unknown ones).
func parseKQL(src string, fields func(string) (string, error)) (kqlNode, error) {
	toks, err := kqlLex(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, kqlErr("empty filter")
	}
	p := &kqlParser{toks: toks, fields: fields}
	n, err := p.or(nil)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.toks) {
		return nil, kqlErr("unexpected %s at %d", p.desc(p.toks[p.i]), p.toks[p.i].pos)
	}
	return n, nil
}

func (p *kqlParser) desc(t kqlTok) string {
	switch t.kind {
	case 'w', 'q', 'k':
		return fmt.Sprintf("%q", t.text)
	}
	return fmt.Sprintf("%q", string(t.kind))
}

func (p *kqlParser) peek(kind byte, text string) bool {
	return p.i < len(p.toks) && p.toks[p.i].kind == kind && (text == "" || p.toks[p.i].text == text)
}

// or, and, not parse an expression; with field != nil they parse a value
// list of that field.
func (p *kqlParser) or(field *string) (kqlNode, error) {
	l, err := p.and(field)
	if err != nil {
		return nil, err
	}
	for p.peek('k', "or") {
		p.i++
		r, err := p.and(field)
		if err != nil {
			return nil, err
		}
		l = kqlOr{l, r}
	}
	return l, nil
}

func (p *kqlParser) and(field *string) (kqlNode, error) {
	l, err := p.not(field)
	if err != nil {
		return nil, err
	}
	for p.peek('k', "and") {
		p.i++
		r, err := p.not(field)
		if err != nil {
			return nil, err
		}
		l = kqlAnd{l, r}
	}
	return l, nil
}

func (p *kqlParser) not(field *string) (kqlNode, error) {
	if p.peek('k', "not") {
		p.i++
		x, err := p.not(field)
		if err != nil {
			return nil, err
		}
		return kqlNot{x}, nil
	}
	return p.primary(field)
}

func (p *kqlParser) primary(field *string) (kqlNode, error) {
	if p.i >= len(p.toks) {
		return nil, kqlErr("unexpected end of filter")
	}
	t := p.toks[p.i]
	if t.kind == '(' {
		p.i++
		n, err := p.or(field)
		if err != nil {
			return nil, err
		}
		if !p.peek(')', "") {
			return nil, kqlErr("missing ) for ( at %d", t.pos)
		}
		p.i++
		return n, nil
	}
	if field != nil { // a value inside field:( ... )
		if t.kind != 'w' && t.kind != 'q' {
			return nil, kqlErr("expected a value at %d, found %s", t.pos, p.desc(t))
		}
		p.i++
		return kqlLeaf{field: *field, lit: kqlLit{text: t.text, wild: t.wild}}, nil
	}
	if t.kind != 'w' || t.wild != nil || !(p.i+1 < len(p.toks) && p.toks[p.i+1].kind == ':') {
		return nil, kqlErr("expected field:value at %d, found %s (field-less terms are not supported)", t.pos, p.desc(t))
	}
	name, err := p.fields(t.text)
	if err != nil {
		return nil, err
	}
	p.i += 2
	if p.i >= len(p.toks) {
		return nil, kqlErr("missing value after %s:", t.text)
	}
	v := p.toks[p.i]
	switch v.kind {
	case '(':
		return p.primary(&name)
	case 'w', 'q':
		p.i++
		if p.peek('w', "") || p.peek('q', "") {
			return nil, kqlErr("unexpected %s at %d: several words need quotes or an explicit or/and", p.desc(p.toks[p.i]), p.toks[p.i].pos)
		}
		return kqlLeaf{field: name, lit: kqlLit{text: v.text, wild: v.wild}}, nil
	}
	return nil, kqlErr("expected a value after %s: at %d, found %s", t.text, v.pos, p.desc(v))
}
