package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Bounds on what the HCL parser is given. A configuration arrives in pull
// requests, so it must not be able to crash or exhaust a CI job: the HCL
// parser recurses once per nesting level (parentheses, brackets, braces,
// templates, unary operators, conditionals), and 200,000 nested
// parentheses in a 400 KB file overflowed Go's 1 GB stack. Every source is
// checked by CheckSource before it is parsed.
const (
	// MaxSourceBytes bounds one configuration or variables file (and one
	// --var or LUMUCTL_VAR_ value). A real configuration is a few KB; 1 MiB
	// still holds an exclude list of 14,000 sha256 hashes.
	MaxSourceBytes = 1 << 20
	// MaxNesting bounds how deeply brackets, braces, parentheses, quoted
	// strings, heredocs and template sequences nest.
	MaxNesting = 64
	// MaxOperators bounds the operators (and template directives) of one
	// source: each may add a level to the parsed expression tree.
	MaxOperators = 10_000
	// MaxTokens bounds the tokens of one source: the parser allocates about
	// 1.7 KB per token (1.7 GB for the 1,000,000 one-byte tokens that 2 MiB
	// can hold), so the byte bound alone does not bound memory. 150,000
	// tokens hold 37,000 quoted hashes.
	MaxTokens = 150_000
)

// ReadSource reads a configuration or variables file, refusing one larger
// than MaxSourceBytes without reading it all.
func ReadSource(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSourceBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSourceBytes {
		return nil, errTooLarge
	}
	return data, nil
}

var errTooLarge = fmt.Errorf("the file is larger than %d bytes (%d MiB), the most lumuctl reads as configuration", MaxSourceBytes, MaxSourceBytes>>20)

// IsTooLarge reports whether err is ReadSource's "file too large" error.
func IsTooLarge(err error) bool { return errors.Is(err, errTooLarge) }

// CheckSource checks, without parsing, that data is within the bounds
// above. It returns one error diagnostic naming the file, line and column
// where a bound is first exceeded. It scans HCL's lexical structure
// (comments, quoted strings with their escapes and interpolations,
// heredocs) just closely enough to count nesting; input the parser would
// reject anyway is left to the parser.
func CheckSource(name string, data []byte) hcl.Diagnostics {
	if len(data) > MaxSourceBytes {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "File too large",
			Detail:   fmt.Sprintf("%s is %d bytes; lumuctl reads at most %d bytes (%d MiB) per configuration or variables file.", name, len(data), MaxSourceBytes, MaxSourceBytes>>20),
			Subject:  &hcl.Range{Filename: name, Start: hcl.InitialPos, End: hcl.InitialPos},
		}}
	}
	s := scanner{data: data, pos: hcl.InitialPos}
	if msg := s.run(); msg != "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  s.summary,
			Detail:   msg,
			Subject:  &hcl.Range{Filename: name, Start: s.at, End: s.at},
		}}
	}
	return nil
}

// frame kinds of the scanner's stack.
const (
	frameBracket = iota // ( [ { in an expression; close holds the closer
	frameInterp         // ${ or %{: an expression closed by }
	frameQuoted         // "..."
	frameHeredoc        // <<EOT ... EOT
)

type frame struct {
	kind  int
	close byte
	delim string // heredoc delimiter
}

type scanner struct {
	data    []byte
	i       int
	pos     hcl.Pos
	stack   []frame
	ops     int
	tokens  int
	at      hcl.Pos
	summary string
}

// advance moves past n bytes, keeping line and column.
func (s *scanner) advance(n int) {
	for ; n > 0 && s.i < len(s.data); n-- {
		c := s.data[s.i]
		s.i++
		s.pos.Byte++
		switch {
		case c == '\n':
			s.pos.Line++
			s.pos.Column = 1
		case c < utf8.RuneSelf || utf8.RuneStart(c):
			s.pos.Column++
		}
	}
}

func (s *scanner) peek(k int) byte {
	if s.i+k < len(s.data) {
		return s.data[s.i+k]
	}
	return 0
}

func (s *scanner) push(f frame) string {
	if len(s.stack) >= MaxNesting {
		s.at, s.summary = s.pos, "Nesting too deep"
		return fmt.Sprintf("Brackets, braces, parentheses, strings and templates nest more than %d levels deep here. lumuctl refuses such input before parsing it, so that a configuration cannot exhaust memory or crash a CI job; simplify the expression.", MaxNesting)
	}
	s.stack = append(s.stack, f)
	return ""
}

func (s *scanner) op() string {
	s.ops++
	if s.ops > MaxOperators {
		s.at, s.summary = s.pos, "Expression too complex"
		return fmt.Sprintf("This file has more than %d operators and template directives. lumuctl refuses such input before parsing it, so that a configuration cannot exhaust memory or crash a CI job.", MaxOperators)
	}
	return ""
}

func (s *scanner) top() *frame {
	if len(s.stack) == 0 {
		return nil
	}
	return &s.stack[len(s.stack)-1]
}

func (s *scanner) pop() { s.stack = s.stack[:len(s.stack)-1] }

func (s *scanner) run() string {
	for s.i < len(s.data) {
		var msg string
		switch t := s.top(); {
		case t != nil && t.kind == frameQuoted:
			msg = s.quoted()
		case t != nil && t.kind == frameHeredoc:
			msg = s.heredoc(t.delim)
		default:
			msg = s.expr()
		}
		if msg != "" {
			return msg
		}
	}
	return ""
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf
}

func isIdentPart(c byte) bool {
	return isIdentStart(c) || c == '-' || c >= '0' && c <= '9'
}

// expr scans one token of expression (or body) syntax.
func (s *scanner) expr() string {
	c := s.peek(0)
	if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
		if s.tokens++; s.tokens > MaxTokens {
			s.at, s.summary = s.pos, "Configuration too large"
			return fmt.Sprintf("This file has more than %d tokens (names, numbers, strings, punctuation). lumuctl refuses such input before parsing it, so that a configuration cannot exhaust memory in a CI job; split it or shorten long lists.", MaxTokens)
		}
	}
	switch {
	case c == '#' || c == '/' && s.peek(1) == '/':
		for s.i < len(s.data) && s.data[s.i] != '\n' {
			s.advance(1)
		}
	case c == '/' && s.peek(1) == '*':
		s.advance(2)
		for s.i < len(s.data) && !(s.peek(0) == '*' && s.peek(1) == '/') {
			s.advance(1)
		}
		s.advance(2)
	case c == '"':
		if msg := s.push(frame{kind: frameQuoted}); msg != "" {
			return msg
		}
		s.advance(1)
	case c == '<' && s.peek(1) == '<':
		j := s.i + 2
		if j < len(s.data) && s.data[j] == '-' {
			j++
		}
		k := j
		for k < len(s.data) && isIdentPart(s.data[k]) {
			k++
		}
		if k > j && k < len(s.data) && (s.data[k] == '\n' || s.data[k] == '\r') {
			if msg := s.push(frame{kind: frameHeredoc, delim: string(s.data[j:k])}); msg != "" {
				return msg
			}
			s.advance(k - s.i + 1)
			return ""
		}
		if msg := s.op(); msg != "" {
			return msg
		}
		s.advance(2)
	case c == '(' || c == '[' || c == '{':
		closer := map[byte]byte{'(': ')', '[': ']', '{': '}'}[c]
		if msg := s.push(frame{kind: frameBracket, close: closer}); msg != "" {
			return msg
		}
		s.advance(1)
	case c == ')' || c == ']' || c == '}':
		if t := s.top(); t != nil && (t.kind == frameBracket && t.close == c || t.kind == frameInterp && c == '}') {
			s.pop()
		}
		s.advance(1)
	case c == '~' && s.peek(1) == '}':
		s.advance(1) // the strip marker of "~}"; the brace comes next
	case isIdentStart(c):
		for s.i < len(s.data) && isIdentPart(s.data[s.i]) {
			s.advance(1)
		}
	case c >= '0' && c <= '9':
		for s.i < len(s.data) {
			d := s.data[s.i]
			if d >= '0' && d <= '9' || d == '.' || d == 'e' || d == 'E' ||
				(d == '+' || d == '-') && (s.data[s.i-1] == 'e' || s.data[s.i-1] == 'E') {
				s.advance(1)
				continue
			}
			break
		}
	case c == '!' || c == '-' || c == '+' || c == '*' || c == '/' || c == '%' || c == '?' ||
		c == '<' || c == '>' || c == '&' || c == '|' || c == '=' && s.peek(1) == '=':
		n := 1
		if d := s.peek(1); d == '=' || d == '&' && c == '&' || d == '|' && c == '|' {
			n = 2
		}
		if msg := s.op(); msg != "" {
			return msg
		}
		s.advance(n)
	default:
		s.advance(1)
	}
	return ""
}

// templateOpen handles "${", "%{" and their escapes "$${", "%%{" inside a
// quoted string or heredoc; it reports whether it consumed anything.
func (s *scanner) templateOpen() (bool, string) {
	c := s.peek(0)
	if c != '$' && c != '%' {
		return false, ""
	}
	if s.peek(1) == c && s.peek(2) == '{' {
		s.advance(3)
		return true, ""
	}
	if s.peek(1) != '{' {
		return false, ""
	}
	if c == '%' {
		if msg := s.op(); msg != "" {
			return true, msg
		}
	}
	if msg := s.push(frame{kind: frameInterp, close: '}'}); msg != "" {
		return true, msg
	}
	s.advance(2)
	return true, ""
}

func (s *scanner) quoted() string {
	if ok, msg := s.templateOpen(); ok {
		return msg
	}
	switch s.peek(0) {
	case '\\':
		s.advance(2)
	case '"':
		s.pop()
		s.advance(1)
	case '\n':
		s.pop() // an unterminated string: the parser reports it
		s.advance(1)
	default:
		s.advance(1)
	}
	return ""
}

func (s *scanner) heredoc(delim string) string {
	// At the start of a line: is it the closing delimiter?
	if s.pos.Column == 1 {
		j := s.i
		for j < len(s.data) && (s.data[j] == ' ' || s.data[j] == '\t') {
			j++
		}
		if k := j + len(delim); k <= len(s.data) && string(s.data[j:k]) == delim && (k == len(s.data) || s.data[k] == '\n' || s.data[k] == '\r') {
			s.pop()
			s.advance(k - s.i)
			return ""
		}
	}
	if ok, msg := s.templateOpen(); ok {
		return msg
	}
	s.advance(1)
	return ""
}
