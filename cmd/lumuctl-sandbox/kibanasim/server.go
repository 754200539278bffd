package kibanasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim/contract"
)

// Fixed names and limits of the emulated Kibana.
const (
	BlocklistListID    = "endpoint_blocklists" // list_id of the Elastic Defend Blocklist container
	MaxListSize        = 10000                 // MAX_EXCEPTION_LIST_SIZE: items per list
	MaxResultWindow    = 10000                 // page*per_page bound of _find
	MaxPayloadBytes    = 1 << 20               // server.maxPayload default
	MaxValuesPerEntry  = 2000                  // blocklist: values per entry
	MaxEntriesPerItem  = 250                   // blocklist: entries per item
	MaxValueLength     = 4096                  // blocklist: characters per value
	MaxNameLength      = 256                   // blocklist: item name
	MaxDescLength      = 256                   // blocklist: item description
	APIVersion         = "2023-10-31"          // elastic-api-version accepted when sent
	ownerSpaceTagPrefx = "ownerSpaceId:"
)

// Options configures a Server.
type Options struct {
	APIKey    string   // required: requests need "Authorization: ApiKey <APIKey>"
	PolicyIDs []string // Fleet Elastic Defend package policies that exist
	Space91   bool     // emulate 9.1+ space awareness (ownerSpaceId tagging); same as Version "9.1"
	// Version is the Kibana release emulated (see ParseVersion and
	// Generation): "8.17" has no artifact bounds, "9.0" has them, "9.1"
	// adds space awareness. Empty means DefaultVersion, or "9.1" with
	// Space91. New panics on a version ParseVersion refuses: check it first.
	Version         string
	SeedUnowned     int               // unowned blocklist items to seed (item_ids not starting with "lumuctl-"); implies the container exists
	Seed            int64             // seed for generated ids and seeded items
	ContainerExists bool              // create endpoint_blocklists at start (default false: real Kibana creates it lazily)
	ContractCheck   *contract.Checker // optional: validate every request/response, record violations

	// Privileges models what the API key may do; the zero value grants
	// everything lumuctl needs. It can be changed later with SetPrivileges
	// or POST /kibana/privileges.
	Privileges Privileges
	// User is reported as created_by/updated_by; default "lumuctl-sandbox".
	User string
	// Now is the clock for timestamps; default time.Now.
	Now func() time.Time
}

// Privileges removes capabilities from the emulated API key, to exercise
// the client's 403 handling. The zero value removes nothing.
type Privileges struct {
	NoListsAll                 bool `json:"no_lists_all"`                  // route privilege lists-all missing: Boom 403 on item/list writes
	NoBlocklistWrite           bool `json:"no_blocklist_write"`            // Blocklist All missing: SIEM 403 "Endpoint authorization failure" on blocklist writes
	NoBlocklistRead            bool `json:"no_blocklist_read"`             // Blocklist Read missing: SIEM 403 on blocklist reads and finds
	NoGlobalArtifactManagement bool `json:"no_global_artifact_management"` // 9.1 mode: policy:all writes get 403
	BasicLicense               bool `json:"basic_license"`                 // below Platinum: by-policy writes get 403
	NoFleetRead                bool `json:"no_fleet_read"`                 // Fleet read missing: Boom 403 on /api/fleet
}

// Server is the Kibana stand-in. It is an http.Handler; see Control for the
// test-facing control API.
type Server struct {
	opts  Options
	gen   Generation
	inner http.Handler // contract middleware (optional) around s.api

	mu       sync.Mutex
	priv     Privileges
	lists    map[listKey]*List
	items    map[string]*record           // by saved-object id
	byItemID map[string]map[string]string // namespace key -> item_id -> id
	seq      int64                        // ES seq_no, bumped on every write
	created  int64                        // creation order
	rng      *rand.Rand
	policies []fleetPolicy
	counters Counters
	log      []LogEntry
	faults   []*Fault
	latency  map[string]time.Duration
	gates    map[string]*gate
}

type record struct {
	item    Item
	nsKey   string
	created int64
	seq     int64
}

// New returns a Server configured by opts. An empty APIKey rejects every
// request with 401.
func New(opts Options) *Server {
	if opts.User == "" {
		opts.User = "lumuctl-sandbox"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Version == "" {
		opts.Version = DefaultVersion
		if opts.Space91 {
			opts.Version = "9.1"
		}
	}
	gen, err := ParseVersion(opts.Version)
	if err != nil {
		panic("kibanasim.New: " + err.Error())
	}
	opts.Space91 = gen >= GenSpaces
	s := &Server{
		gen:      gen,
		opts:     opts,
		priv:     opts.Privileges,
		lists:    map[listKey]*List{},
		items:    map[string]*record{},
		byItemID: map[string]map[string]string{},
		rng:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x6b69626e)),
		counters: Counters{},
		latency:  map[string]time.Duration{},
		gates:    map[string]*gate{},
	}
	s.policies = s.seedPolicies()
	if opts.ContainerExists || opts.SeedUnowned > 0 {
		s.createListLocked(blocklistContainer(), nsAgnostic)
	}
	s.seedUnowned(opts.SeedUnowned)
	s.inner = http.HandlerFunc(s.api)
	if opts.ContractCheck != nil {
		s.inner = opts.ContractCheck.Middleware(s.inner)
	}
	return s
}

// Generation is the Kibana generation the server emulates.
func (s *Server) Generation() Generation { return s.gen }

// ServeHTTP answers the Kibana API routes, after counting, logging,
// latency and scheduled faults.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.front(w, r) }

// SetPrivileges replaces the emulated API key's privileges.
func (s *Server) SetPrivileges(p Privileges) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.priv = p
}

// Items returns a snapshot of every stored item of every list, sorted by
// item_id (then id).
func (s *Server) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Item, 0, len(s.items))
	for _, rec := range s.items {
		out = append(out, rec.item.clone())
	}
	slices.SortFunc(out, func(a, b Item) int {
		if c := strings.Compare(a.ItemID, b.ItemID); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// ---- envelopes ----

var boomErrors = map[int]string{
	400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
	409: "Conflict", 413: "Request Entity Too Large", 415: "Unsupported Media Type",
	429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Gateway Timeout",
}

// BoomError is the platform error envelope (route validation, auth, xsrf,
// payload size, route privileges).
type BoomError struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
}

// SiemError is the error envelope of the Lists and Security Solution
// handlers (validators, not found, conflicts).
type SiemError struct {
	Message    string `json:"message"`
	StatusCode int    `json:"status_code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b []byte
	var err error
	if f, ok := v.(FindResult); ok {
		b = f.appendJSON(nil) // a page of items, written in one pass
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		status, b = 500, []byte(`{"message":"encoding response failed","status_code":500}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

func boom(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, BoomError{StatusCode: status, Error: boomErrors[status], Message: msg})
}

func siem(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, SiemError{Message: msg, StatusCode: status})
}

// apiErr is an error answer chosen deep in a handler.
type apiErr struct {
	status int
	boom   bool
	msg    string
	msgs   []string // SIEM errors whose message is an array of strings
}

func (e *apiErr) Error() string { return e.msg }

func siemErr(status int, format string, args ...any) *apiErr {
	return &apiErr{status: status, msg: fmt.Sprintf(format, args...)}
}

func boomErr(status int, format string, args ...any) *apiErr {
	return &apiErr{status: status, boom: true, msg: fmt.Sprintf(format, args...)}
}

func (e *apiErr) write(w http.ResponseWriter) {
	switch {
	case e.boom:
		boom(w, e.status, e.msg)
	case e.msgs != nil:
		writeJSON(w, e.status, map[string]any{"message": e.msgs, "status_code": e.status})
	default:
		siem(w, e.status, e.msg)
	}
}

// ---- routing ----

var spaceIDRe = regexp.MustCompile(`^[a-z0-9_-]+$`)

// splitSpace strips a /s/<space> prefix. ok is false for a malformed prefix.
func splitSpace(path string) (space, rest string, ok bool) {
	if !strings.HasPrefix(path, "/s/") {
		return "default", path, true
	}
	tail := path[len("/s/"):]
	i := strings.IndexByte(tail, '/')
	if i < 0 {
		return "", "", false
	}
	space = tail[:i]
	if !spaceIDRe.MatchString(space) {
		return "", "", false
	}
	return space, tail[i:], true
}

type route struct {
	kind    string
	write   bool // route privilege lists-all (Boom 403 when missing)
	handler func(s *Server, rc *reqCtx) (int, any, *apiErr)
}

var routes = map[string]route{
	"GET /api/exception_lists":             {KindReadList, false, (*Server).readList},
	"POST /api/exception_lists":            {KindCreateList, true, (*Server).createList},
	"DELETE /api/exception_lists":          {KindDeleteList, true, (*Server).deleteList},
	"GET /api/exception_lists/items":       {KindReadItem, false, (*Server).readItem},
	"POST /api/exception_lists/items":      {KindCreateItem, true, (*Server).createItem},
	"PUT /api/exception_lists/items":       {KindUpdateItem, true, (*Server).updateItem},
	"DELETE /api/exception_lists/items":    {KindDeleteItem, true, (*Server).deleteItem},
	"GET /api/exception_lists/items/_find": {KindFind, false, (*Server).findItems},
	"GET /api/exception_lists/summary":     {KindSummary, false, (*Server).summary},
	"GET /api/fleet/package_policies":      {KindFleet, false, (*Server).fleetList},
	"GET /api/fleet/package_policies/{id}": {KindFleet, false, (*Server).fleetGet},
}

// lookupRoute finds the route of a request; pathArg is the {id} of Fleet
// single-policy reads.
func lookupRoute(method, path string) (rt route, space, pathArg string, ok bool) {
	space, rest, ok := splitSpace(path)
	if !ok {
		return route{}, "", "", false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rt, ok := routes[method+" "+rest]; ok {
		return rt, space, "", true
	}
	const fleetOne = "/api/fleet/package_policies/"
	if id, found := strings.CutPrefix(rest, fleetOne); found && id != "" && !strings.Contains(id, "/") {
		if rt, ok := routes[method+" "+fleetOne+"{id}"]; ok {
			return rt, space, id, true
		}
	}
	return route{}, "", "", false
}

// Kind names the request kind of method and path, as used by counters,
// latency and faults.
func Kind(method, path string) string {
	rt, _, _, ok := lookupRoute(method, path)
	if !ok {
		return KindOther
	}
	return rt.kind
}

// reqCtx is one request, after the platform checks.
type reqCtx struct {
	r       *http.Request
	space   string
	pathArg string
	body    []byte // nil when the request has no body
}

// api is the emulated Kibana itself: platform checks in hapi/Kibana core
// order, then the route handler.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	rt, space, arg, ok := lookupRoute(r.Method, r.URL.Path)
	if !ok {
		boom(w, 404, "Not Found")
		return
	}
	if !s.authorized(r) {
		boom(w, 401, "Unauthorized")
		return
	}
	body, e := readBody(r)
	if e != nil {
		e.write(w)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if _, ok := r.Header["Kbn-Xsrf"]; !ok {
			if _, ok := r.Header["Kbn-Version"]; !ok {
				boom(w, 400, "Request must contain a kbn-xsrf header.")
				return
			}
		}
	}
	if v := r.Header.Get("Elastic-Api-Version"); v != "" && v != APIVersion {
		boom(w, 400, fmt.Sprintf("Invalid version. Received %q, expected one of [%q]", v, APIVersion))
		return
	}
	s.mu.Lock()
	priv := s.priv
	s.mu.Unlock()
	if rt.write && priv.NoListsAll {
		boom(w, 403, fmt.Sprintf("API [%s %s] is unauthorized for user, this action is granted by the Kibana privileges [lists-all]", r.Method, r.URL.Path))
		return
	}
	if rt.kind == KindFleet && priv.NoFleetRead {
		boom(w, 403, "Forbidden")
		return
	}
	status, v, e := rt.handler(s, &reqCtx{r: r, space: space, pathArg: arg, body: body})
	if e != nil {
		e.write(w)
		return
	}
	writeJSON(w, status, v)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.opts.APIKey == "" {
		return false
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "ApiKey") && cred == s.opts.APIKey
}

// readBody enforces server.maxPayload and the JSON content type.
func readBody(r *http.Request) ([]byte, *apiErr) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxPayloadBytes+1))
	if err != nil {
		return nil, boomErr(400, "Invalid request payload: %v", err)
	}
	if len(b) > MaxPayloadBytes {
		return nil, boomErr(413, "Payload content length greater than maximum allowed: %d", MaxPayloadBytes)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, boomErr(415, "Unsupported Media Type")
	}
	if !json.Valid(b) {
		return nil, boomErr(400, "Invalid request payload JSON format")
	}
	return b, nil
}
