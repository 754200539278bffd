package providertest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Source is a provider.Source that returns fixed indicators per filter name.
type Source struct {
	mu sync.Mutex
	// Indicators by filter name, hash → indicator.
	Indicators map[string]map[string]*provider.Indicator
	// Errs makes the fetch of a filter fail.
	Errs map[string]error
	// Unread lists, by filter name, incidents the fetch reports as listed
	// but not read (FetchResponse.Unread).
	Unread map[string][]string
	// Calls counts Fetch calls by filter name.
	Calls map[string]int
}

var _ provider.Source = (*Source)(nil)

// NewSource returns an empty Source.
func NewSource() *Source {
	return &Source{Indicators: map[string]map[string]*provider.Indicator{}, Errs: map[string]error{}, Unread: map[string][]string{}, Calls: map[string]int{}}
}

// Set replaces the hashes a filter yields; each comes from incident "inc-<filter>".
func (s *Source) Set(filter string, ht provider.HashType, hashes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]*provider.Indicator{}
	for _, h := range hashes {
		m[h] = &provider.Indicator{Hash: h, Type: ht, Incidents: []provider.IncidentRef{{ID: "inc-" + filter, Filter: filter, AdversaryTypes: []string{"Malware"}, Description: "test"}}}
	}
	s.Indicators[filter] = m
}

// Fetch implements provider.Source.
func (s *Source) Fetch(ctx context.Context, req provider.FetchRequest) provider.FetchResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Calls[req.Filter.Name]++
	if err := s.Errs[req.Filter.Name]; err != nil {
		return provider.FetchResponse{Err: err}
	}
	out := map[string]*provider.Indicator{}
	for h, ind := range s.Indicators[req.Filter.Name] {
		cp := *ind
		cp.Incidents = append([]provider.IncidentRef(nil), ind.Incidents...)
		for i := range cp.Incidents {
			cp.Incidents[i].Company = req.Company.Name
		}
		out[h] = &cp
	}
	unread := append([]string(nil), s.Unread[req.Filter.Name]...)
	return provider.FetchResponse{Indicators: out, Unread: unread, Stats: provider.FetchStats{IncidentsUnread: len(unread)}}
}

// Close implements provider.Source.
func (s *Source) Close() error { return nil }

// Hashes returns n distinct lowercase sha256 hashes derived from tag, for
// building desired sets in tests.
func Hashes(tag string, n int) []string {
	out := make([]string, n)
	for i := range out {
		s := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", tag, i)))
		out[i] = hex.EncodeToString(s[:])
	}
	return out
}
