package provider

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestActionText(t *testing.T) {
	for _, tt := range []struct {
		a            Action
		word, symbol string
		write        bool
	}{
		{NoOp, "no-op", " ", false},
		{Create, "create", "+", true},
		{Update, "update", "~", true},
		{Delete, "delete", "-", true},
	} {
		if got := tt.a.String(); got != tt.word {
			t.Errorf("%q.String() = %q, want %q", rune(tt.a), got, tt.word)
		}
		if got := tt.a.Symbol(); got != tt.symbol {
			t.Errorf("%s.Symbol() = %q, want %q", tt.a, got, tt.symbol)
		}
		if got := tt.a.IsWrite(); got != tt.write {
			t.Errorf("%s.IsWrite() = %v", tt.a, got)
		}
		b, err := json.Marshal(tt.a)
		if err != nil || string(b) != `"`+tt.word+`"` {
			t.Errorf("json.Marshal(%s) = %s, %v", tt.a, b, err)
		}
		var back Action
		if err := json.Unmarshal(b, &back); err != nil || back != tt.a {
			t.Errorf("round trip of %s = %s, %v", tt.a, back, err)
		}
	}
	if _, err := json.Marshal(Action('?')); err == nil {
		t.Error("an unknown action was encoded")
	}
	var a Action
	err := json.Unmarshal([]byte(`"upsert`+strings.Repeat("x", 100)+`"`), &a)
	if err == nil || !strings.Contains(err.Error(), `unknown action "upsertxx`) || strings.Contains(err.Error(), strings.Repeat("x", 90)) {
		t.Errorf("unknown word: err = %v, want it named, truncated", err)
	}
	if got := Action('?').String(); got != `Action('?')` {
		t.Errorf("unknown String() = %s", got)
	}
}
