package config

import (
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// Defaults of SPEC section 2.
const (
	DefaultStatePath = ".lumuctl/state.db"
	DefaultCachePath = ".lumuctl/cache.db"
	DefaultNamespace = "default"
	// The Lumu and Kibana connection defaults (api_url,
	// requests_per_minute, requests_per_day, retry_timeout, timeout) are
	// provider.Default*, shared with the providers.
	DefaultKibanaSpace = "default"
	// DefaultListHeadroom is how many of the 10,000 items of Kibana's
	// endpoint_blocklists list a plan leaves free for others.
	DefaultListHeadroom = 500
	// MaxListHeadroom bounds list_headroom (Kibana's list holds
	// provider.MaxListItems).
	MaxListHeadroom          = provider.MaxListItems - 1
	DefaultDays              = 30
	DefaultMaxValuesPerItem  = 1000
	DefaultMaxDeleteFraction = 0.25
	DefaultMaxDeletes        = 5000
)

// Config is one evaluated configuration: every *.lumu.hcl file of Dir.
// Maps are keyed by block label; use the Sorted* helpers for a stable order.
type Config struct {
	// Dir is the configuration directory as given to LoadDir.
	Dir      string
	Settings Settings

	Variables  map[string]*Variable
	Companies  map[string]*Company
	Filters    map[string]*IOCFilter
	Kibanas    map[string]*Kibana
	Blocklists map[string]*Blocklist
}

// Settings is the optional settings block (defaults filled in).
type Settings struct {
	// StatePath and CachePath are as written (relative to Dir unless
	// absolute); use Config.StateFile and Config.CacheFile to open them.
	StatePath string
	CachePath string
	// Namespace is the ownership namespace: the Kibana item_id prefix is
	// "lumuctl-<Namespace>-".
	Namespace string
	// Backend is the settings.backend block; nil means the local bbolt
	// files (StatePath, CachePath).
	Backend *Backend
	// DeclRange is the settings block's range (zero when the block is absent).
	DeclRange hcl.Range
}

// DefaultBackendSchema is the PostgreSQL schema when the backend block sets none.
const DefaultBackendSchema = "lumuctl"

// Backend is a remote state backend (SPEC section 10): settings { backend
// "postgres" { url, schema } }.
type Backend struct {
	// Type is the block label ("postgres").
	Type string
	// URL is the connection URL or key=value string. It is sensitive:
	// unknown in offline mode when it comes from an unset variable.
	URL Secret
	// Schema holds lumuctl's tables ("lumuctl" by default).
	Schema    string
	DeclRange hcl.Range
}

// Variable is a declared input variable and the value it resolved to.
type Variable struct {
	Name        string
	Type        cty.Type // cty.String, cty.Number, cty.Bool or cty.List(cty.String)
	Description string
	Sensitive   bool
	// Default is cty.NilVal when the variable is required.
	Default cty.Value
	// Value is the resolved value; unknown in offline mode when no source
	// set it. Sensitive values are not marked here: check Sensitive.
	Value cty.Value
	// Source says where Value came from ("default", "environment",
	// a file name, "--var"), for diagnostics and debugging.
	Source    string
	DeclRange hcl.Range
}

// Company is a Lumu tenant.
type Company struct {
	Name        string // block label
	UUID        string // lowercase
	DefenderKey Secret
	// DisplayName is the optional "name" attribute (informational).
	DisplayName       Text
	ContactName       Text
	ContactEmail      Text
	APIURL            string
	RequestsPerMinute int
	// RequestsPerDay is Lumu's daily quota per key (requests_per_day).
	RequestsPerDay int
	RetryTimeout   time.Duration
	DeclRange      hcl.Range
}

// IOCFilter selects incidents of a company.
type IOCFilter struct {
	Name           string // block label
	Company        *Company
	IOCTypes       []string // subset of ip, domain, url, hash
	HashTypes      []provider.HashType
	AdversaryTypes []string
	Days           int
	Statuses       []string // subset of open, closed
	Labels         []int
	OnlyActive     bool
	Exclude        []string // lowercase hex hashes
	DeclRange      hcl.Range
	// IOCTypesRange is the range of the ioc_types value (or DeclRange).
	IOCTypesRange hcl.Range
}

// Kibana is one Kibana endpoint.
type Kibana struct {
	Name               string // block label
	URL                string // without trailing slash
	APIKey             Secret
	Space              string
	CAFile             string // as written; see Config.Path
	InsecureSkipVerify bool
	Timeout            time.Duration
	RetryTimeout       time.Duration
	// ListHeadroom is how many items of the 10,000 that Kibana's
	// endpoint_blocklists list holds a plan must leave free for others:
	// a plan that grows the list beyond 10,000 - ListHeadroom items fails.
	// It only decides whether a plan is allowed, so it is not part of the
	// configuration digest.
	ListHeadroom int
	DeclRange    hcl.Range
}

// Blocklist is a target: the owned Blocklist items of one Kibana.
type Blocklist struct {
	Name    string // block label
	Kibana  *Kibana
	Sources []*IOCFilter
	// Global is true for policies = ["all"]; PolicyIDs is then empty.
	Global bool
	// PolicyIDs are Fleet package-policy ids without the "policy:" prefix.
	PolicyIDs        []string
	OSTypes          []string // subset of windows, macos, linux, in configured order
	MaxValuesPerItem int
	PreventDestroy   bool
	Guard            Guard
	DeclRange        hcl.Range
	// SourceRanges[i] is the range of Sources[i] in the sources list (the
	// subject of an empty-source guard trip).
	SourceRanges []hcl.Range
	// PreventDestroyRange is the prevent_destroy attribute (or DeclRange),
	// the subject of a prevent_destroy trip.
	PreventDestroyRange hcl.Range
	// GuardRange is the guard block (or DeclRange when absent), the subject
	// of a mass-delete trip.
	GuardRange hcl.Range
}

// Guard holds the mass-delete and empty-source guard settings.
type Guard struct {
	MaxDeleteFraction float64
	MaxDeletes        int
	AllowEmptySources bool
}

// Path resolves a path written in the configuration against Dir.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// StateFile is the state file path resolved against Dir.
func (c *Config) StateFile() string { return c.Path(c.Settings.StatePath) }

// CacheFile is the cache file path resolved against Dir.
func (c *Config) CacheFile() string { return c.Path(c.Settings.CachePath) }

// ItemIDPrefix is the ownership prefix of this configuration's items of
// every blocklist: "lumuctl-<namespace>-".
func (c *Config) ItemIDPrefix() string { return pack.OwnedPrefix(c.Settings.Namespace) }

// VariableNames returns the variable names in sorted order.
func (c *Config) VariableNames() []string { return slices.Sorted(maps.Keys(c.Variables)) }

// CompanyNames returns the company labels in sorted order.
func (c *Config) CompanyNames() []string { return slices.Sorted(maps.Keys(c.Companies)) }

// FilterNames returns the ioc_filter labels in sorted order.
func (c *Config) FilterNames() []string { return slices.Sorted(maps.Keys(c.Filters)) }

// KibanaNames returns the kibana labels in sorted order.
func (c *Config) KibanaNames() []string { return slices.Sorted(maps.Keys(c.Kibanas)) }

// BlocklistNames returns the blocklist labels in sorted order.
func (c *Config) BlocklistNames() []string { return slices.Sorted(maps.Keys(c.Blocklists)) }

// SortedBlocklists returns the blocklists ordered by name.
func (c *Config) SortedBlocklists() []*Blocklist {
	out := make([]*Blocklist, 0, len(c.Blocklists))
	for _, n := range c.BlocklistNames() {
		out = append(out, c.Blocklists[n])
	}
	return out
}

// SortedFilters returns the ioc_filters ordered by name.
func (c *Config) SortedFilters() []*IOCFilter {
	out := make([]*IOCFilter, 0, len(c.Filters))
	for _, n := range c.FilterNames() {
		out = append(out, c.Filters[n])
	}
	return out
}

// ProviderCompany converts c to what a provider.Source needs. The result
// holds the revealed key: never print it.
func (c *Company) ProviderCompany() provider.Company {
	return provider.Company{
		Name:              c.Name,
		UUID:              c.UUID,
		DisplayName:       c.DisplayName.Reveal(),
		APIURL:            c.APIURL,
		Key:               c.DefenderKey.Reveal(),
		RequestsPerMinute: c.RequestsPerMinute,
		RequestsPerDay:    c.RequestsPerDay,
		RetryTimeout:      c.RetryTimeout,
	}
}

// ProviderFilter converts f to a provider.Filter (copies of the slices).
func (f *IOCFilter) ProviderFilter() provider.Filter {
	return provider.Filter{
		Name:           f.Name,
		HashTypes:      append([]provider.HashType(nil), f.HashTypes...),
		AdversaryTypes: append([]string(nil), f.AdversaryTypes...),
		Days:           f.Days,
		Statuses:       append([]string(nil), f.Statuses...),
		Labels:         append([]int(nil), f.Labels...),
		OnlyActive:     f.OnlyActive,
	}
}

// ProviderTarget converts k to a provider.TargetConfig. CAFile is returned
// as written; pass it through Config.Path first if it is relative (see
// Config.ProviderTarget). The result holds the revealed key.
func (k *Kibana) ProviderTarget(readOnly bool) provider.TargetConfig {
	return provider.TargetConfig{
		Name:               k.Name,
		URL:                k.URL,
		APIKey:             k.APIKey.Reveal(),
		Space:              k.Space,
		CAFile:             k.CAFile,
		InsecureSkipVerify: k.InsecureSkipVerify,
		Timeout:            k.Timeout,
		RetryTimeout:       k.RetryTimeout,
		ReadOnly:           readOnly,
	}
}

// ProviderTarget is Kibana.ProviderTarget with CAFile resolved against Dir.
func (c *Config) ProviderTarget(k *Kibana, readOnly bool) provider.TargetConfig {
	t := k.ProviderTarget(readOnly)
	t.CAFile = c.Path(t.CAFile)
	return t
}
