package cli

import (
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

func TestWhyHashPattern(t *testing.T) {
	const (
		a = "02121085cd28a51047ac9fc06dc6461d"
		b = "0212ffffffffffffffffffffffff461d"
		c = "0458aaaaaaaaaaaaaaaaaaaaaaaa6a2e"
	)
	items := map[string]state.Item{
		"x-linux": {Item: provider.Item{Entries: []provider.Entry{{Value: []string{a, c}}}}},
		"x-win":   {Item: provider.Item{Entries: []provider.Entry{{Value: []string{a, b}}}}},
	}
	tests := []struct {
		arg, want, wantErr string
	}{
		{arg: strings.ToUpper(a), want: a},
		{arg: "0458", want: c},
		{arg: "0458…6a2e", want: c},
		{arg: "0458...6A2E", want: c},
		{arg: "02121", want: a},
		{arg: "0212…461d", wantErr: "0212…461d matches 2 hashes blocked by lumuctl; give more digits:\n  " + a + "\n  " + b},
		{arg: "0212", wantErr: "0212 matches 2 hashes"},
		{arg: "0212…0000", wantErr: "no hash blocked by lumuctl matches 0212…0000 (as of the last apply)"},
		{arg: "9999", wantErr: "no hash blocked by lumuctl matches 9999"},
		{arg: "021", wantErr: `"021" is not a hash`},
		{arg: "02g2", wantErr: `"02g2" is not a hash`},
		{arg: "0212…46x", wantErr: "is not a hash"},
		{arg: "…461d", wantErr: "is not a hash"},
		{arg: "", wantErr: "is not a hash"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			p, err := parseHashPattern(tt.arg)
			got := p.full
			if err == nil && got == "" {
				got, err = p.resolve(items)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
