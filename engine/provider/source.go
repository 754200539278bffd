package provider

import (
	"context"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// HashType is a file-hash family. The zero value is invalid.
type HashType string

// The hash families lumuctl knows, in the order items are laid out.
const (
	MD5    HashType = "md5"
	SHA1   HashType = "sha1"
	SHA256 HashType = "sha256"
)

// HashTypes lists every supported HashType in canonical order.
var HashTypes = []HashType{MD5, SHA1, SHA256}

// HexLen is the number of hex digits of a digest of this type (0 if unknown).
func (t HashType) HexLen() int {
	switch t {
	case MD5:
		return 32
	case SHA1:
		return 40
	case SHA256:
		return 64
	}
	return 0
}

// Defaults shared by the configuration language (the value of an unset
// attribute, engine/config) and the providers (the value of a zero field):
// defined once here, so the two never disagree.
const (
	// DefaultLumuAPIURL is Lumu's public Defender API.
	DefaultLumuAPIURL = "https://defender.lumu.io"
	// DefaultRequestsPerMinute is a company's per-key request budget.
	DefaultRequestsPerMinute = 50
	// DefaultRequestsPerDay is Lumu's daily quota per key (UTC days).
	DefaultRequestsPerDay = 10000
	// DefaultRetryTimeout bounds the retries of one request, to Lumu or
	// Kibana.
	DefaultRetryTimeout = 2 * time.Minute
	// DefaultKibanaTimeout bounds one Kibana request.
	DefaultKibanaTimeout = 30 * time.Second
)

// Company is what a Source needs to reach one Lumu tenant. Key is a secret:
// it must never be printed, logged, cached or stored.
type Company struct {
	Name              string // configuration label (company "NAME")
	UUID              string
	DisplayName       string
	APIURL            string
	Key               string // secret
	RequestsPerMinute int
	// RequestsPerDay is the daily quota per key (UTC days); 0 means the
	// provider's default.
	RequestsPerDay int
	RetryTimeout   time.Duration
}

// Filter is one ioc_filter, already validated by engine/config.
type Filter struct {
	Name           string // configuration label
	HashTypes      []HashType
	AdversaryTypes []string
	Days           int
	Statuses       []string // subset of "open", "closed"
	Labels         []int
	OnlyActive     bool
	// The ioc_filter's exclude values and the built-in never-block list
	// are not here: the engine removes those hashes from every source's
	// answer, so a source need not know about them.
}

// FetchRequest asks a Source for the hashes one filter selects.
type FetchRequest struct {
	Company Company
	Filter  Filter
	// Now is the end of the window [Now-Days, Now]. Injected for tests.
	Now time.Time
	// Progress receives events while fetching; may be nil.
	Progress ProgressFunc
}

// FetchResponse is the result of one fetch. When Err is non-nil the fetch
// failed and Indicators must be ignored: a failed source never shrinks the
// desired set. The response belongs to the caller once returned: the engine
// edits Indicators in place (it removes excluded hashes), so a Source must
// not keep or share the map.
type FetchResponse struct {
	// Indicators maps a normalised (lowercase hex) hash to what produced it.
	Indicators map[string]*Indicator
	// Warnings are things the user should know (dropped malformed values
	// naming the incident, ...). They carry no source range; the engine
	// attaches the ioc_filter's block range.
	Warnings []Warning
	Stats    FetchStats
	// Unread are the ids of kept incidents whose contexts were not read
	// (see FetchStats.IncidentsUnread): the engine keeps the hashes the
	// state attributes to them, so nothing is unblocked because of it.
	Unread []string
	Err    error
}

// Warning is a non-fatal note from a provider.
type Warning struct {
	Summary string
	Detail  string
	// Incident is the id of the incident the warning is about, or "". The
	// engine counts the incidents of warnings with one Summary.
	Incident string
}

// FetchStats counts the calls a fetch made, for tests and benchmarks.
type FetchStats struct {
	ListCalls       int // incident list pages requested
	ContextCalls    int // incident context requests sent
	ContextCached   int // contexts served from the cache
	IncidentsListed int
	IncidentsKept   int
	// IncidentsUnread counts kept incidents whose context could not be
	// read in this run (daily quota, or rate limited past retry_timeout):
	// what they yielded before stays, and the next run continues.
	IncidentsUnread int
}

// Indicator is one hash and the incidents that produced it.
type Indicator struct {
	Hash      string
	Type      HashType
	Incidents []IncidentRef // sorted by ID, no duplicates
}

// IncidentRef is the provenance of a hash: one Lumu incident.
type IncidentRef struct {
	ID             string    `json:"id"`
	Company        string    `json:"company"` // configuration label
	Filter         string    `json:"filter"`  // ioc_filter label
	AdversaryID    string    `json:"adversary,omitempty"`
	AdversaryTypes []string  `json:"adversary_types,omitempty"`
	Description    string    `json:"description,omitempty"`
	LastContact    time.Time `json:"last_contact"`
	Status         string    `json:"status,omitempty"`
}

// ProgressFunc receives progress events. Implementations must not block.
type ProgressFunc func(ProgressEvent)

// ProgressKind says what a ProgressEvent reports.
type ProgressKind string

// Progress event kinds.
const (
	ProgressIncidentsListed ProgressKind = "incidents_listed" // Done = incidents so far
	ProgressContexts        ProgressKind = "contexts"         // Done/Total contexts
	ProgressRateLimited     ProgressKind = "rate_limited"     // Wait = how long
	ProgressRetrying        ProgressKind = "retrying"         // Wait, Detail
)

// ProgressEvent is one progress report from a provider.
type ProgressEvent struct {
	Kind   ProgressKind
	Source string // "company/filter"
	Done   int
	Total  int
	Wait   time.Duration
	Detail string
}

// Source yields hashes. Implementations must be safe for concurrent use by
// several Fetch calls (one per ioc_filter).
type Source interface {
	Fetch(ctx context.Context, req FetchRequest) FetchResponse
	// Close releases resources (cache files). A second Close does nothing.
	Close() error
}

// SourceOptions configure a Source at construction time.
type SourceOptions struct {
	// CachePath is the bbolt cache file; "" disables caching.
	CachePath string
	// Cache, when not nil, is used instead of the file at CachePath (the
	// PostgreSQL backend's cache, shared by every runner).
	Cache Cache
	// HTTPLog is told about every request and retry; nil for none.
	HTTPLog HTTPLog
	// Refresh ignores cached data for this run: every incident context is
	// read from the source again (and cached again).
	Refresh bool
}

// SourceFactory builds a Source.
type SourceFactory func(SourceOptions) (Source, hcl.Diagnostics)

// Cache is a source's persistent store, shared between runs: opaque
// records per group (for Lumu: incident records per company) and daily
// request counters per key (a hash of the credential, never the
// credential). Implementations are safe for concurrent use. Failures only
// cost time: a source treats an error as "nothing cached".
type Cache interface {
	// Load returns the stored records of group for the given ids (missing
	// ids are absent).
	Load(group string, ids []string) (map[string][]byte, error)
	// Store writes (replaces) records of group, in one transaction.
	Store(group string, recs map[string][]byte) error
	// QuotaUsed returns the count stored for key on day (0 if another day
	// or none).
	QuotaUsed(key, day string) (int, error)
	// SetQuotaUsed stores the count of key for day.
	SetQuotaUsed(key, day string, n int) error
	// Close releases the cache's connections or files.
	Close() error
}
