package kibana

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/lumuctl/lumuctl/engine/provider"
)

const (
	packagePoliciesPath = "/api/fleet/package_policies"
	// endpointKuery selects Elastic Defend package policies. Fleet rewrites
	// the legacy saved-object prefix when space awareness is on, so this
	// spelling works on 8.x and 9.x.
	endpointKuery = "ingest-package-policies.package.name:endpoint"
	fleetPerPage  = 100
	// maxFleetPages bounds paging against a server that never ends.
	maxFleetPages = 1000
)

type packagePolicyPage struct {
	Items []struct {
		ID      string `json:"id"`
		Package *struct {
			Name string `json:"name"`
		} `json:"package"`
	} `json:"items"`
	Total   *int `json:"total"`
	Page    int  `json:"page"`
	PerPage int  `json:"perPage"`
}

// CheckPolicies reports which of ids are not Elastic Defend package
// policies visible in the configured space. Without Fleet read privilege
// (403) it returns a Warning instead of an error.
func (c *Client) CheckPolicies(ctx context.Context, ids []string) (provider.PolicyCheck, error) {
	if len(ids) == 0 {
		return provider.PolicyCheck{}, nil
	}
	found := map[string]bool{}
	seen := map[string]bool{}
	ri := reqInfo{method: http.MethodGet, path: packagePoliciesPath}
	got := 0
	for page := 1; ; page++ {
		if page > maxFleetPages {
			return provider.PolicyCheck{}, fmt.Errorf("kibana %q: Fleet package policies: more than %d pages", c.name, maxFleetPages)
		}
		q := url.Values{
			"kuery":   {endpointKuery},
			"perPage": {strconv.Itoa(fleetPerPage)},
			"page":    {strconv.Itoa(page)},
		}
		res, err := c.do(ctx, call{method: ri.method, path: ri.path, query: q, limit: maxPageBody, info: ri, fleet: true})
		if err != nil {
			return provider.PolicyCheck{}, err
		}
		if res.status == http.StatusForbidden {
			e := c.newAPIError(ri, res.status, res.body, res.attempts)
			return provider.PolicyCheck{Warning: fmt.Sprintf(
				"cannot check Fleet policy ids in kibana %q: the API key lacks Fleet read privilege (%s); unknown policy ids will only be reported by Kibana when items are written",
				c.name, e.Message)}, nil
		}
		if !res.ok() {
			return provider.PolicyCheck{}, c.newAPIError(ri, res.status, res.body, res.attempts)
		}
		var pp packagePolicyPage
		if err := json.Unmarshal(res.body, &pp); err != nil {
			return provider.PolicyCheck{}, fmt.Errorf("kibana %q: Fleet package policies page %d: decode: %w", c.name, page, err)
		}
		if pp.Total == nil {
			return provider.PolicyCheck{}, fmt.Errorf("kibana %q: Fleet package policies page %d: answer has no total", c.name, page)
		}
		fresh := 0
		for _, it := range pp.Items {
			if seen[it.ID] {
				continue
			}
			seen[it.ID] = true
			fresh++
			// The kuery asks for endpoint policies; check it anyway, as
			// ownership of the decision is ours, not the filter's.
			if it.Package != nil && it.Package.Name == "endpoint" {
				found[it.ID] = true
			}
		}
		got += len(pp.Items)
		if len(pp.Items) > 0 && fresh == 0 {
			return provider.PolicyCheck{}, fmt.Errorf("kibana %q: Fleet package policies page %d repeated earlier pages", c.name, page)
		}
		if len(pp.Items) < fleetPerPage || got >= *pp.Total {
			break
		}
	}
	var pc provider.PolicyCheck
	for _, id := range ids {
		if !found[id] {
			pc.Missing = append(pc.Missing, id)
		}
	}
	return pc, nil
}
