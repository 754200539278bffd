package kibana

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/lumuctl/lumuctl/engine/provider"
)

var _ provider.ItemIDChecker = (*Client)(nil)

// takenConcurrency bounds the item_id reads of one TakenElsewhere call.
const takenConcurrency = 4

// TakenElsewhere reads each item_id (GET /api/exception_lists/items with
// namespace_type=agnostic, which finds an item of any agnostic list: Kibana
// keeps item_ids unique across them) and returns those that exist, mapped to
// their list_id. The planner calls it for the item_ids of planned creates,
// which no owned item holds, so any hit is an item lumuctl does not own (of
// another list, or created since the live read).
func (c *Client) TakenElsewhere(ctx context.Context, itemIDs []string) (map[string]string, error) {
	var (
		mu  sync.Mutex
		out = map[string]string{}
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(takenConcurrency)
	for _, id := range itemIDs {
		g.Go(func() error {
			list, taken, err := c.holder(gctx, id)
			if err != nil || !taken {
				return err
			}
			mu.Lock()
			out[id] = list
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// holder reads item_id and reports the list_id of the item holding it.
func (c *Client) holder(ctx context.Context, itemID string) (string, bool, error) {
	ri := reqInfo{method: http.MethodGet, path: itemsPath}
	q := url.Values{"item_id": {itemID}, "namespace_type": {NamespaceType}}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, query: q, limit: maxItemBody, info: ri})
	if err != nil {
		return "", false, err
	}
	switch {
	case res.status == http.StatusNotFound:
		return "", false, nil
	case !res.ok():
		return "", false, c.newAPIError(ri, res.status, res.body, res.attempts)
	}
	var w struct {
		ListID string `json:"list_id"`
	}
	if err := json.Unmarshal(res.body, &w); err != nil {
		return "", false, fmt.Errorf("kibana %q: GET %s?item_id=%s: decode item: %w", c.name, itemsPath, itemID, err)
	}
	list := stripControl(w.ListID)
	if len(list) > 100 {
		list = list[:100] + "..."
	}
	if list == "" {
		list = "(unknown)"
	}
	return list, true, nil
}
