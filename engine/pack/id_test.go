package pack

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/lumuctl/lumuctl/engine/provider"
)

func TestItemID(t *testing.T) {
	tests := []struct {
		name, ns, bl, os string
		ht               provider.HashType
		seq              int
		want, wantErr    string
	}{
		{"ok", "default", "prod", "windows", provider.SHA256, 1, "lumuctl-default-prod-windows-sha256-0001", ""},
		{"ok max seq", "ns_1", "b_2", "linux", provider.MD5, 9999, "lumuctl-ns_1-b_2-linux-md5-9999", ""},
		{"ok digit namespace", "0", "a", "macos", provider.SHA1, 42, "lumuctl-0-a-macos-sha1-0042", ""},
		{"empty namespace", "", "prod", "windows", provider.MD5, 1, "", `invalid namespace ""`},
		{"dash in namespace", "a-b", "prod", "windows", provider.MD5, 1, "", `invalid namespace "a-b"`},
		{"long namespace", "abcdefghijabcdefghijabcdefghijabc", "prod", "windows", provider.MD5, 1, "", "invalid namespace"},
		{"upper blocklist", "ns", "Prod", "windows", provider.MD5, 1, "", `invalid blocklist label "Prod"`},
		{"digit-first blocklist", "ns", "1prod", "windows", provider.MD5, 1, "", "invalid blocklist label"},
		{"dash in blocklist", "ns", "pr-od", "windows", provider.MD5, 1, "", "invalid blocklist label"},
		{"unknown os", "ns", "prod", "freebsd", provider.MD5, 1, "", `invalid OS "freebsd"`},
		{"upper os", "ns", "prod", "Windows", provider.MD5, 1, "", "invalid OS"},
		{"unknown type", "ns", "prod", "windows", "sha512", 1, "", `invalid hash type "sha512"`},
		{"seq zero", "ns", "prod", "windows", provider.MD5, 0, "", "item sequence 0 out of range 1..9999"},
		{"seq too big", "ns", "prod", "windows", provider.MD5, 10000, "", "item sequence 10000 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ItemID(tt.ns, tt.bl, tt.os, tt.ht, tt.seq)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ItemID error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ItemID = %q, want %q", got, tt.want)
			}
			os, ht, seq, ok := ParseItemID(BlocklistPrefix(tt.ns, tt.bl), got)
			if !ok || os != tt.os || ht != tt.ht || seq != tt.seq {
				t.Errorf("ParseItemID(%q) = %q, %q, %d, %v; want round trip", got, os, ht, seq, ok)
			}
		})
	}
}

func TestParseItemID(t *testing.T) {
	const prefix = "lumuctl-ns-prod-"
	type parsed struct {
		OS   string
		Type provider.HashType
		Seq  int
		OK   bool
	}
	tests := []struct {
		name, prefix, id string
		want             parsed
	}{
		{"ok", prefix, "lumuctl-ns-prod-windows-md5-0001", parsed{"windows", provider.MD5, 1, true}},
		{"ok sha256", prefix, "lumuctl-ns-prod-linux-sha256-0120", parsed{"linux", provider.SHA256, 120, true}},
		{"other blocklist", prefix, "lumuctl-ns-prod2-windows-md5-0001", parsed{}},
		{"other namespace", prefix, "lumuctl-ns2-prod-windows-md5-0001", parsed{}},
		{"blocklist is a prefix of ours", "lumuctl-ns-pro-", "lumuctl-ns-prod-windows-md5-0001", parsed{}},
		{"prefix without dash", "lumuctl-ns-prod", "lumuctl-ns-prod-windows-md5-0001", parsed{}},
		{"empty prefix", "", "windows-md5-0001", parsed{}},
		{"prefix only", prefix, prefix, parsed{}},
		{"three-digit seq", prefix, "lumuctl-ns-prod-windows-md5-001", parsed{}},
		{"five-digit seq", prefix, "lumuctl-ns-prod-windows-md5-00001", parsed{}},
		{"seq zero", prefix, "lumuctl-ns-prod-windows-md5-0000", parsed{}},
		{"signed seq", prefix, "lumuctl-ns-prod-windows-md5-+001", parsed{}},
		{"hex seq", prefix, "lumuctl-ns-prod-windows-md5-00a1", parsed{}},
		{"trailing part", prefix, "lumuctl-ns-prod-windows-md5-0001-x", parsed{}},
		{"trailing dash", prefix, "lumuctl-ns-prod-windows-md5-0001-", parsed{}},
		{"missing type", prefix, "lumuctl-ns-prod-windows-0001", parsed{}},
		{"unknown os", prefix, "lumuctl-ns-prod-freebsd-md5-0001", parsed{}},
		{"upper os", prefix, "lumuctl-ns-prod-Windows-md5-0001", parsed{}},
		{"unknown type", prefix, "lumuctl-ns-prod-windows-sha512-0001", parsed{}},
		{"upper type", prefix, "lumuctl-ns-prod-windows-MD5-0001", parsed{}},
		{"upper prefix", prefix, "LUMUCTL-ns-prod-windows-md5-0001", parsed{}},
		{"space", prefix, "lumuctl-ns-prod-windows-md5-0001 ", parsed{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got parsed
			got.OS, got.Type, got.Seq, got.OK = ParseItemID(tt.prefix, tt.id)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseItemID(%q, %q) mismatch (-want +got):\n%s", tt.prefix, tt.id, diff)
			}
		})
	}
}

func TestGroup(t *testing.T) {
	g := Group{Namespace: "ns", Blocklist: "prod", OS: "macos", Type: provider.SHA1}
	if got, want := g.Prefix(), "lumuctl-ns-prod-"; got != want {
		t.Errorf("Prefix = %q, want %q", got, want)
	}
	id, err := g.ID(7)
	if err != nil || id != "lumuctl-ns-prod-macos-sha1-0007" {
		t.Errorf("ID(7) = %q, %v", id, err)
	}
	if err := (Group{Namespace: "ns", Blocklist: "prod", OS: "macos"}).Validate(); err == nil {
		t.Error("Validate accepted a group without hash type")
	}
}
