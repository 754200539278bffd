package kibana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// splitChars are the characters an owned item_id may continue with
// (SPEC 5: item_ids use only [a-z0-9_-]); List narrows a prefix by them when
// more items match than Kibana's result window can page through.
const splitChars = "-0123456789_abcdefghijklmnopqrstuvwxyz"

// maxSplitDepth bounds how far List narrows prefixes (a server ignoring the
// filter would otherwise make it recurse forever).
const maxSplitDepth = 8

// listState accumulates one List call.
type listState struct {
	prefix    string
	seen      map[string]bool // saved-object ids already counted
	owned     []provider.Item
	unmanaged int
	known     map[string]provider.Item // ListRequest.Known
}

// windowError says a filter matched more items than the result window.
type windowError struct{ total int }

func (e *windowError) Error() string {
	return fmt.Sprintf("%d items exceed the result window", e.total)
}

// List returns every item of the container whose item_id starts with
// req.Prefix, sorted by item_id. The _find filter narrows the search, but
// ownership is decided here, item by item, on the prefix: items the server
// returns without it are counted in Unmanaged and never returned as owned.
func (c *Client) List(ctx context.Context, req provider.ListRequest) (provider.ListResponse, error) {
	if req.Prefix == "" {
		return provider.ListResponse{}, errors.New("kibana: List: empty prefix (ownership is decided by the prefix)")
	}
	if _, err := escapeKQL(req.Prefix); err != nil {
		return provider.ListResponse{}, fmt.Errorf("kibana: List: %w", err)
	}
	st := &listState{prefix: req.Prefix, seen: map[string]bool{}, known: req.Known}
	if _, err := c.listPrefix(ctx, st, req.Prefix, 0); err != nil {
		return provider.ListResponse{}, err
	}
	slices.SortFunc(st.owned, func(a, b provider.Item) int { return strings.Compare(a.ItemID, b.ItemID) })
	resp := provider.ListResponse{Owned: st.owned, Unmanaged: st.unmanaged}
	if req.CountUnmanaged {
		// The prefix filter hides most foreign items; one more request (a
		// single-item page without filter) gives the list's total.
		total, err := c.countAll(ctx)
		if err != nil {
			return provider.ListResponse{}, err
		}
		resp.Unmanaged = max(total-len(st.owned), st.unmanaged)
	}
	return resp, nil
}

// countAll returns how many items the blocklist list holds.
func (c *Client) countAll(ctx context.Context) (int, error) {
	q := listQuery()
	q.Set("page", "1")
	q.Set("per_page", "1")
	fp, err := c.findPage(ctx, q, "count")
	if err != nil {
		return 0, err
	}
	if fp.total < 0 {
		return 0, fmt.Errorf("kibana %q: _find (count): negative total", c.name)
	}
	return fp.total, nil
}

// findPage sends one _find request and decodes its answer, which must carry
// a total. what names the request in errors ("page 3", "count").
func (c *Client) findPage(ctx context.Context, q url.Values, what string) (decodedPage, error) {
	ri := reqInfo{method: http.MethodGet, path: findPath}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, query: q, limit: maxPageBody, info: ri})
	if err != nil {
		return decodedPage{}, err
	}
	if !res.ok() {
		return decodedPage{}, c.newAPIError(ri, res.status, res.body, res.attempts)
	}
	if fast, ok := decodePageFast(res.body); ok {
		if fast.total == nil {
			return decodedPage{}, fmt.Errorf("kibana %q: _find %s: answer has no total", c.name, what)
		}
		return decodedPage{items: fast.items, n: len(fast.items), total: *fast.total}, nil
	}
	var fp findPage
	if err := json.Unmarshal(res.body, &fp); err != nil {
		return decodedPage{}, fmt.Errorf("kibana %q: _find %s: decode: %w", c.name, what, err)
	}
	if fp.Total == nil {
		return decodedPage{}, fmt.Errorf("kibana %q: _find %s: answer has no total", c.name, what)
	}
	return decodedPage{raw: fp.Data, n: len(fp.Data), total: *fp.Total}, nil
}

// decodedPage is a _find answer: its items decoded in one pass
// (decodePageFast) or, when that declined, left raw for take.
type decodedPage struct {
	items []wireItem
	raw   []json.RawMessage
	n     int // items on the page
	total int
}

// listPrefix lists the items whose item_id starts with sub and returns how
// many the server said match. Beyond the result window it narrows sub by
// one character at a time.
func (c *Client) listPrefix(ctx context.Context, st *listState, sub string, depth int) (int, error) {
	filter, err := prefixFilter(sub)
	if err != nil {
		return 0, err
	}
	total, err := c.find(ctx, st, filter)
	var we *windowError
	if !errors.As(err, &we) {
		return total, err
	}
	if depth >= maxSplitDepth {
		return 0, fmt.Errorf("kibana %q: %d items match item_id prefix %q, more than the %d Kibana can page through, even after narrowing the prefix %d times",
			c.name, we.total, sub, c.window, depth)
	}
	exact, err := exactFilter(sub)
	if err != nil {
		return 0, err
	}
	sum, err := c.find(ctx, st, exact)
	if err != nil {
		if errors.As(err, &we) {
			return 0, fmt.Errorf("kibana %q: %d items have item_id %q", c.name, we.total, sub)
		}
		return 0, err
	}
	for _, ch := range splitChars {
		n, err := c.listPrefix(ctx, st, sub+string(ch), depth+1)
		if err != nil {
			return 0, err
		}
		sum += n
	}
	if sum < we.total {
		return 0, fmt.Errorf("kibana %q: %d of the %d items whose item_id starts with %q continue with a character outside [-0-9_a-z] and cannot be listed past Kibana's %d-item result window",
			c.name, we.total-sum, we.total, sub, c.window)
	}
	return we.total, nil
}

// find pages through one _find filter, adding what it sees to st. It
// returns the server's total, or a *windowError when that total cannot be
// paged through within the result window.
func (c *Client) find(ctx context.Context, st *listState, filter string) (int, error) {
	perPage := c.pageSize
	maxPages := max(c.window/perPage, 1)
	thisQuery := map[string]bool{}
	got := 0
	for page := 1; ; page++ {
		if page > maxPages {
			return 0, fmt.Errorf("kibana %q: _find %s: still full pages after %d pages of %d", c.name, filter, maxPages, perPage)
		}
		q := listQuery()
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(perPage))
		q.Set("sort_field", "tie_breaker_id")
		q.Set("sort_order", "asc")
		q.Set("filter", filter)
		fp, err := c.findPage(ctx, q, fmt.Sprintf("page %d", page))
		if err != nil {
			return 0, err
		}
		total := fp.total
		if total > maxPages*perPage {
			return 0, &windowError{total: total}
		}
		fresh := 0
		for i := range fp.n {
			var isNew bool
			if fp.raw != nil {
				isNew, err = c.take(st, thisQuery, fp.raw[i])
			} else {
				w := &fp.items[i]
				isNew, err = c.takeItem(st, thisQuery, w, itemHead{ID: w.ID, ItemID: w.ItemID}, nil)
			}
			if err != nil {
				return 0, fmt.Errorf("kibana %q: _find page %d item %d: %w", c.name, page, i, err)
			}
			if isNew {
				fresh++
			}
		}
		got += fp.n
		if fp.n > 0 && fresh == 0 {
			return 0, fmt.Errorf("kibana %q: _find page %d repeated only items of earlier pages; refusing to page further", c.name, page)
		}
		if fp.n < perPage || got >= total {
			return total, nil
		}
	}
}

// take classifies one item of a _find page. It reports whether the item is
// new to this query (for the repeated-page guard).
func (c *Client) take(st *listState, thisQuery map[string]bool, raw json.RawMessage) (bool, error) {
	// One decode for the usual item; the head alone decides ownership
	// when the whole item does not decode (a foreign item of another
	// shape never fails a listing).
	var w wireItem
	werr := json.Unmarshal(raw, &w)
	head := itemHead{ID: w.ID, ItemID: w.ItemID}
	if werr != nil {
		head = itemHead{}
		if err := json.Unmarshal(raw, &head); err != nil {
			return false, fmt.Errorf("not an item: %w", err)
		}
	}
	return c.takeItem(st, thisQuery, &w, head, werr)
}

// takeItem is take for an item decoded into w (werr: why it did not
// decode whole; head then holds its id and item_id).
func (c *Client) takeItem(st *listState, thisQuery map[string]bool, w *wireItem, head itemHead, werr error) (bool, error) {
	owned := head.ItemID != "" && strings.HasPrefix(head.ItemID, st.prefix)
	if head.ID == "" {
		if owned {
			return false, fmt.Errorf("item %q has no id", head.ItemID)
		}
		// Foreign and unidentifiable: counted, cannot be deduplicated.
		st.unmanaged++
		return true, nil
	}
	if thisQuery[head.ID] {
		return false, nil
	}
	thisQuery[head.ID] = true
	if st.seen[head.ID] {
		return true, nil
	}
	st.seen[head.ID] = true
	if !owned {
		st.unmanaged++
		return true, nil
	}
	if werr != nil {
		return false, fmt.Errorf("item %q: %w", head.ItemID, werr)
	}
	if w.ListID != "" && w.ListID != ListID {
		return false, fmt.Errorf("item %q belongs to list %q, not %s", w.ItemID, w.ListID, ListID)
	}
	var like *provider.Item
	if k, ok := st.known[w.ItemID]; ok {
		like = &k
	}
	it, err := w.toItemLike(like)
	if err != nil {
		return false, err
	}
	if k, ok := st.known[it.ItemID]; ok {
		// This page's copy of the values becomes garbage now, not
		// after the whole listing.
		provider.ShareValues(&it, k)
	}
	st.owned = append(st.owned, it)
	return true, nil
}
