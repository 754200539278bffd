package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/lumuctl/lumuctl/engine/provider"
)

func loadString(t *testing.T, src string, opts LoadOptions) (*Config, hcl.Diagnostics) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return NewParser().LoadDir(dir, opts)
}

// TestExamples loads every directory under examples/ (including ones added
// later): each must be free of errors and warnings and canonically formatted.
func TestExamples(t *testing.T) {
	dirs, err := filepath.Glob("../../examples/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		n++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			p := NewParser()
			cfg, diags := p.LoadDir(dir, LoadOptions{Offline: true})
			if len(diags) > 0 {
				var b strings.Builder
				hcl.NewDiagnosticTextWriter(&b, p.Files(), 100, false).WriteDiagnostics(diags)
				t.Fatalf("want no diagnostics, got:\n%s", b.String())
			}
			if len(cfg.Blocklists) == 0 {
				t.Errorf("example declares no blocklist")
			}
			for name, f := range p.Files() {
				if got := hclwrite.Format(f.Bytes); string(got) != string(f.Bytes) {
					t.Errorf("%s is not canonically formatted (run lumuctl fmt)", name)
				}
			}
		})
	}
	if n < 3 {
		t.Errorf("found %d example directories, want at least 3", n)
	}
}

// TestValidFull checks the decoded model of a fixture that sets every
// attribute.
func TestValidFull(t *testing.T) {
	data, err := os.ReadFile("testdata/fixtures/valid_full.lumu.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := loadString(t, string(data), LoadOptions{Vars: []VarArg{{Assign: "key=k1"}}})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	co := cfg.Companies["acme"]
	k := cfg.Kibanas["prod"]
	f := cfg.Filters["f"]
	b := cfg.Blocklists["b"]
	type view struct {
		Settings                       [3]string
		UUID, APIURL, Display, Contact string
		RPM                            int
		Retry                          string
		FilterCompany                  string
		Hashes                         []provider.HashType
		Adversaries, Statuses, Exclude []string
		Days                           int
		Labels                         []int
		OnlyActive                     bool
		URL, Space, CA, Timeout        string
		Kibana                         string
		Sources, Policies, OS          []string
		Global, PreventDestroy         bool
		MaxValues                      int
		Guard                          Guard
	}
	got := view{
		Settings: [3]string{cfg.Settings.StatePath, cfg.Settings.CachePath, cfg.Settings.Namespace},
		UUID:     co.UUID, APIURL: co.APIURL, Display: co.DisplayName.String(), Contact: co.ContactEmail.String(),
		RPM: co.RequestsPerMinute, Retry: co.RetryTimeout.String(), FilterCompany: f.Company.Name,
		Hashes: f.HashTypes, Adversaries: f.AdversaryTypes, Statuses: f.Statuses, Exclude: f.Exclude,
		Days: f.Days, Labels: f.Labels, OnlyActive: f.OnlyActive,
		URL: k.URL, Space: k.Space, CA: cfg.ProviderTarget(k, true).CAFile, Timeout: k.Timeout.String(),
		Kibana: b.Kibana.Name, Sources: []string{b.Sources[0].Name}, Policies: b.PolicyIDs, OS: b.OSTypes,
		Global: b.Global, PreventDestroy: b.PreventDestroy, MaxValues: b.MaxValuesPerItem, Guard: b.Guard,
	}
	want := view{
		Settings: [3]string{"state/lumu.db", "state/cache.db", "team_a"},
		UUID:     "10228d9c-ff18-4251-ac19-514185e00f17", APIURL: "https://defender.lumu.io", Display: "ACME", Contact: "soc@example.com",
		RPM: 100000, Retry: "1m30s", FilterCompany: "acme",
		Hashes: []provider.HashType{provider.MD5, provider.SHA1, provider.SHA256}, Adversaries: []string{"Network Scan", "Malware"},
		Statuses: []string{"open", "closed"}, Exclude: []string{"d41d8cd98f00b204e9800998ecf8427e"},
		Days: 7, Labels: []int{1, 2}, OnlyActive: false,
		URL: "http://127.0.0.1:5601/base", Space: "sec-ops", CA: filepath.Join(cfg.Dir, "ca.pem"), Timeout: "5s",
		Kibana: "prod", Sources: []string{"f"}, Policies: []string{"abc-123", "def_456"}, OS: []string{"linux"},
		Global: false, PreventDestroy: true, MaxValues: 2000, Guard: Guard{MaxDeleteFraction: 0, MaxDeletes: 0, AllowEmptySources: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("model mismatch (-want +got):\n%s", diff)
	}
	pc := co.ProviderCompany()
	if pc.Key != "k1" || pc.UUID != want.UUID || pc.RequestsPerMinute != 100000 {
		t.Errorf("ProviderCompany = %+v", pc)
	}
	pf := f.ProviderFilter()
	if diff := cmp.Diff(provider.Filter{Name: "f", HashTypes: want.Hashes, AdversaryTypes: want.Adversaries, Days: 7,
		Statuses: want.Statuses, Labels: want.Labels}, pf); diff != "" {
		t.Errorf("ProviderFilter mismatch (-want +got):\n%s", diff)
	}
	if pt := k.ProviderTarget(true); pt.APIKey != "k1" || !pt.ReadOnly || pt.URL != want.URL {
		t.Errorf("ProviderTarget = %+v", pt.Name)
	}
}

func TestDefaults(t *testing.T) {
	cfg, diags := loadString(t, `
variable "k" {
  sensitive = true
}
company "c" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.k
}
ioc_filter "f" {
  company = company.c
}
kibana "k" {
  url     = "https://k/"
  api_key = var.k
}
blocklist "b" {
  kibana  = kibana.k
  sources = [ioc_filter.f]
}
`, LoadOptions{Offline: true})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	f, b, k, co := cfg.Filters["f"], cfg.Blocklists["b"], cfg.Kibanas["k"], cfg.Companies["c"]
	got := fmt.Sprintf("%s %s %s | %v %v %v %d %v %v %v | %v %v %v %d %+v | %s %s %v %v %v | %s %d %v %v",
		cfg.Settings.StatePath, cfg.Settings.CachePath, cfg.ItemIDPrefix(),
		f.IOCTypes, f.HashTypes, f.AdversaryTypes, f.Days, f.Statuses, f.OnlyActive, len(f.Labels)+len(f.Exclude),
		b.Global, b.PolicyIDs, b.OSTypes, b.MaxValuesPerItem, b.Guard,
		k.URL, k.Space, k.Timeout, k.RetryTimeout, k.APIKey.Known(),
		co.APIURL, co.RequestsPerMinute, co.RetryTimeout, co.DefenderKey.Known())
	want := ".lumuctl/state.db .lumuctl/cache.db lumuctl-default- | [hash] [sha256] [C2C Malware Mining Spam Phishing] 30 [open] true 0 | " +
		"true [] [windows macos linux] 1000 {MaxDeleteFraction:0.25 MaxDeletes:5000 AllowEmptySources:false} | " +
		"https://k default 30s 2m0s false | https://defender.lumu.io 50 2m0s false"
	if got != want {
		t.Errorf("defaults:\n got %s\nwant %s", got, want)
	}
}

func TestNoConfigFiles(t *testing.T) {
	dir := t.TempDir()
	cfg, diags := NewParser().LoadDir(dir, LoadOptions{})
	if cfg != nil || len(diags) != 1 || diags[0].Summary != "No configuration files" {
		t.Fatalf("got %v %v", cfg, diags)
	}
	_, diags = NewParser().LoadDir(filepath.Join(dir, "missing"), LoadOptions{})
	if len(diags) != 1 || diags[0].Summary != "Cannot read configuration directory" {
		t.Fatalf("got %v", diags)
	}
}

func TestDigest(t *testing.T) {
	base, err := os.ReadFile("testdata/fixtures/valid_full.lumu.hcl")
	if err != nil {
		t.Fatal(err)
	}
	digest := func(t *testing.T, src string, key string) string {
		t.Helper()
		cfg, diags := loadString(t, src, LoadOptions{Vars: []VarArg{{Assign: "key=" + key}}})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return cfg.Digest()
	}
	d0 := digest(t, string(base), "k1")
	if len(d0) != 64 {
		t.Fatalf("digest %q", d0)
	}
	if d := digest(t, string(base), "k1"); d != d0 {
		t.Errorf("digest not deterministic")
	}
	if d := digest(t, string(base), "another-key"); d != d0 {
		t.Errorf("changing a credential changed the digest")
	}
	// Comments and formatting do not matter; values do.
	if d := digest(t, "# comment\n"+strings.ReplaceAll(string(base), "  ", "    "), "k1"); d != d0 {
		t.Errorf("reformatting changed the digest")
	}
	changes := map[string][2]string{
		"namespace":   {`"team_a"`, `"team_b"`},
		"days":        {"default = 7", "default = 8"},
		"os":          {`["linux"]`, `["linux", "macos"]`},
		"policy":      {`"def_456"`, `"def_457"`},
		"exclude":     {`"D41D8CD98F00B204E9800998ECF8427E"`, `"D41D8CD98F00B204E9800998ECF8427F"`},
		"guard":       {"max_deletes         = 0", "max_deletes         = 1"},
		"url":         {"5601/base", "5602/base"},
		"uuid":        {"AC19-514185E00F17", "AC19-514185E00F18"},
		"contact":     {`"SOC"`, `"NOC"`},
		"only_active": {"only_active     = false", "only_active     = true"},
	}
	for name, ch := range changes {
		t.Run(name, func(t *testing.T) {
			if !strings.Contains(string(base), ch[0]) {
				t.Fatalf("fixture lacks %q", ch[0])
			}
			if d := digest(t, strings.Replace(string(base), ch[0], ch[1], 1), "k1"); d == d0 {
				t.Errorf("changing %s kept the digest", name)
			}
		})
	}
}
