package kibanasim

import (
	"net/http"
	"sort"
	"sync"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim/contract"
)

// Options configures a Server.
type Options struct {
	APIKey          string            // required: requests need "Authorization: ApiKey <APIKey>"
	PolicyIDs       []string          // Fleet Elastic Defend package policies that exist
	Space91         bool              // emulate 9.1+ space awareness (ownerSpaceId tagging)
	SeedUnowned     int               // unowned blocklist items to seed (item_ids not starting with "lumuctl-")
	Seed            int64             // seed for generated ids and seeded items
	ContainerExists bool              // create endpoint_blocklists at start (default false: real Kibana creates it lazily)
	ContractCheck   *contract.Checker // optional: validate every request/response, record violations
}

// Server is the Kibana stand-in. It is an http.Handler.
type Server struct {
	opts    Options
	mu      sync.Mutex
	items   map[string]*Item
	handler http.Handler
}

// New returns a Server configured by opts.
func New(opts Options) *Server {
	s := &Server{opts: opts, items: map[string]*Item{}}
	s.handler = http.HandlerFunc(s.serve)
	if opts.ContractCheck != nil {
		s.handler = opts.ContractCheck.Middleware(s.handler)
	}
	return s
}

// ServeHTTP answers the Kibana API routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not implemented", http.StatusNotImplemented)
}

// Control returns the JSON control API, serving /kibana/... paths.
func (s *Server) Control() http.Handler { return http.NotFoundHandler() }

// Counters returns the number of requests seen, by kind.
func (s *Server) Counters() Counters { return Counters{} }

// ResetCounters zeroes the request counters.
func (s *Server) ResetCounters() {}

// Items returns a snapshot of every stored item, sorted by item_id.
func (s *Server) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Item, 0, len(s.items))
	for _, it := range s.items {
		out = append(out, it.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ItemID < out[j].ItemID })
	return out
}
