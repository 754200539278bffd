package kibanasim

import (
	"fmt"
	"strings"
)

// FleetPolicy is a Fleet package policy as /api/fleet/package_policies
// returns it (the fields lumuctl reads, plus a few for realism).
type FleetPolicy struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Namespace string       `json:"namespace"`
	PolicyID  string       `json:"policy_id"`
	PolicyIDs []string     `json:"policy_ids"`
	Package   FleetPackage `json:"package"`
	Enabled   bool         `json:"enabled"`
	Revision  int          `json:"revision"`
	Inputs    []any        `json:"inputs"`
	CreatedAt string       `json:"created_at"`
	UpdatedAt string       `json:"updated_at"`
}

// FleetPackage names the integration package of a package policy.
type FleetPackage struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Version string `json:"version"`
}

// FleetList is the answer of GET /api/fleet/package_policies.
type FleetList struct {
	Items   []FleetPolicy `json:"items"`
	Total   int           `json:"total"`
	Page    int           `json:"page"`
	PerPage int           `json:"perPage"`
}

type fleetPolicy = FleetPolicy

// SystemPolicyID is a seeded package policy of the "system" package: it
// exists in Fleet but is not an Elastic Defend policy.
const SystemPolicyID = "sandbox-system-integration-policy"

func (s *Server) seedPolicies() []FleetPolicy {
	now := s.now()
	var out []FleetPolicy
	for i, id := range s.opts.PolicyIDs {
		agent := fmt.Sprintf("agent-policy-%d", i+1)
		out = append(out, FleetPolicy{
			ID: id, Name: fmt.Sprintf("Defend - sandbox %d", i+1), Namespace: "default",
			PolicyID: agent, PolicyIDs: []string{agent},
			Package: FleetPackage{Name: "endpoint", Title: "Elastic Defend", Version: "9.1.0"},
			Enabled: true, Revision: 1, Inputs: []any{}, CreatedAt: now, UpdatedAt: now,
		})
	}
	out = append(out, FleetPolicy{
		ID: SystemPolicyID, Name: "System - sandbox", Namespace: "default",
		PolicyID: "agent-policy-1", PolicyIDs: []string{"agent-policy-1"},
		Package: FleetPackage{Name: "system", Title: "System", Version: "1.60.0"},
		Enabled: true, Revision: 1, Inputs: []any{}, CreatedAt: now, UpdatedAt: now,
	})
	return out
}

// policyExists reports whether a package policy id exists (of any package,
// as Kibana's own check does not look at the package).
func (s *Server) policyExists(id string) bool {
	for _, p := range s.policies {
		if p.ID == id {
			return true
		}
	}
	return false
}

var fleetFields = map[string]func(*FleetPolicy) []string{
	"package.name": func(p *FleetPolicy) []string { return []string{p.Package.Name} },
	"name":         func(p *FleetPolicy) []string { return []string{p.Name} },
	"namespace":    func(p *FleetPolicy) []string { return []string{p.Namespace} },
	"policy_id":    func(p *FleetPolicy) []string { return []string{p.PolicyID} },
	"policy_ids":   func(p *FleetPolicy) []string { return p.PolicyIDs },
}

// fleetField accepts both saved-object type prefixes, as Fleet rewrites
// them (_normalizePackagePolicyKuery).
func fleetField(name string) (string, error) {
	for _, prefix := range []string{"ingest-package-policies.", "fleet-package-policies."} {
		if attr, ok := strings.CutPrefix(name, prefix); ok {
			attr = strings.TrimPrefix(attr, "attributes.")
			if _, ok := fleetFields[attr]; ok {
				return attr, nil
			}
		}
	}
	return "", &KQLError{Msg: fmt.Sprintf("This key '%s' does NOT exist in ingest-package-policies saved object index patterns", name)}
}

func (s *Server) fleetList(rc *reqCtx) (int, any, *apiErr) {
	q := rc.r.URL.Query()
	page, perPage := 1, 20
	if v := q.Get("page"); v != "" {
		n, err := atoiParam(v, "page")
		if err != nil || n < 1 {
			return 0, nil, boomErr(400, "[request query.page]: Value must be equal to or greater than [1].")
		}
		page = n
	}
	if v := q.Get("perPage"); v != "" {
		n, err := atoiParam(v, "perPage")
		if err != nil || n < 1 {
			return 0, nil, boomErr(400, "[request query.perPage]: Value must be equal to or greater than [1].")
		}
		perPage = n
	}
	var node kqlNode
	if k := strings.TrimSpace(q.Get("kuery")); k != "" {
		n, err := parseKQL(k, fleetField)
		if err != nil {
			return 0, nil, boomErr(400, "%s", err.Error())
		}
		node = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	res := FleetList{Items: []FleetPolicy{}, Page: page, PerPage: perPage}
	var hits []FleetPolicy
	for i := range s.policies {
		p := &s.policies[i]
		if node == nil || node.eval(func(f string) []string { return fleetFields[f](p) }) {
			hits = append(hits, *p)
		}
	}
	res.Total = len(hits)
	from := min((page-1)*perPage, len(hits))
	res.Items = append(res.Items, hits[from:min(from+perPage, len(hits))]...)
	return 200, res, nil
}

func (s *Server) fleetGet(rc *reqCtx) (int, any, *apiErr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.policies {
		if p.ID == rc.pathArg {
			return 200, map[string]any{"item": p}, nil
		}
	}
	return 0, nil, boomErr(404, "Package policy %s not found", rc.pathArg)
}
