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

const (
	listPath  = "/api/exception_lists"
	itemsPath = "/api/exception_lists/items"
	findPath  = "/api/exception_lists/items/_find"
)

// listDefinition is the body that creates the container (reference 8.1).
var listDefinition = map[string]string{
	"list_id":        ListID,
	"name":           "Endpoint Security Blocklists List",
	"description":    "Endpoint Security Blocklists List",
	"type":           "endpoint_blocklists",
	"namespace_type": NamespaceType,
}

func listQuery() url.Values {
	return url.Values{"list_id": {ListID}, "namespace_type": {NamespaceType}}
}

// ContainerExists reports whether the endpoint_blocklists list exists.
func (c *Client) ContainerExists(ctx context.Context) (bool, error) {
	ri := reqInfo{method: http.MethodGet, path: listPath}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, query: listQuery(), limit: maxItemBody, info: ri})
	if err != nil {
		return false, err
	}
	switch {
	case res.ok():
		// The answer must be the list itself: a 200 from anything else
		// (a proxy, another API) must not count as "the list exists".
		var l struct {
			ListID        string `json:"list_id"`
			NamespaceType string `json:"namespace_type"`
		}
		if err := json.Unmarshal(res.body, &l); err != nil || l.ListID != ListID {
			what := fmt.Sprintf("a 200 answer that is not the %s list", ListID)
			if err != nil {
				what += " (not JSON: " + err.Error() + ")"
			}
			return false, &NotKibanaError{Kibana: c.name, URL: c.base.String(), Method: ri.method,
				Endpoint: c.base.Path + ri.path, Status: res.status, What: what}
		}
		return true, nil
	case res.status == http.StatusNotFound:
		// checkOrigin has made sure this is the API's own "does not exist".
		return false, nil
	}
	return false, c.newAPIError(ri, res.status, res.body, res.attempts)
}

// EnsureContainer creates the endpoint_blocklists list when it is missing.
// A 409 "already exists" (a concurrent creator won) counts as success.
func (c *Client) EnsureContainer(ctx context.Context) error {
	ok, err := c.ContainerExists(ctx)
	if err != nil || ok {
		return err
	}
	body, err := json.Marshal(listDefinition)
	if err != nil {
		return err
	}
	ri := reqInfo{method: http.MethodPost, path: listPath}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, body: body, limit: maxItemBody, info: ri})
	if err != nil {
		return err
	}
	if res.ok() || res.status == http.StatusConflict {
		return nil
	}
	return c.newAPIError(ri, res.status, res.body, res.attempts)
}

// Get reads one item by saved-object id.
func (c *Client) Get(ctx context.Context, id string) (provider.Item, error) {
	if id == "" {
		return provider.Item{}, errors.New("kibana: Get: empty id")
	}
	return c.read(ctx, "id", id)
}

// GetByItemID reads one item by item_id.
func (c *Client) GetByItemID(ctx context.Context, itemID string) (provider.Item, error) {
	if itemID == "" {
		return provider.Item{}, errors.New("kibana: GetByItemID: empty item_id")
	}
	return c.read(ctx, "item_id", itemID)
}

func (c *Client) read(ctx context.Context, key, value string) (provider.Item, error) {
	ri := reqInfo{method: http.MethodGet, path: itemsPath}
	q := url.Values{key: {value}, "namespace_type": {NamespaceType}}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, query: q, limit: maxItemBody, info: ri})
	if err != nil {
		return provider.Item{}, err
	}
	if !res.ok() {
		return provider.Item{}, c.newAPIError(ri, res.status, res.body, res.attempts)
	}
	return c.decodeOwn(res.body, fmt.Sprintf("GET %s?%s=%s", itemsPath, key, value))
}

// decodeOwn decodes an item answer and checks it belongs to the blocklist
// container (item_ids are unique across all agnostic lists, so a read by
// item_id can find an item of another list).
func (c *Client) decodeOwn(body []byte, what string) (provider.Item, error) {
	var w wireItem
	if err := json.Unmarshal(body, &w); err != nil {
		return provider.Item{}, fmt.Errorf("kibana %q: %s: decode item: %w", c.name, what, err)
	}
	if w.ListID != "" && w.ListID != ListID {
		return provider.Item{}, &foreignListError{kibana: c.name, what: what, itemID: stripControl(w.ItemID), list: stripControl(w.ListID)}
	}
	it, err := w.toItem()
	if err != nil {
		return provider.Item{}, fmt.Errorf("kibana %q: %s: %w", c.name, what, err)
	}
	return it, nil
}

// Create adds it to the container. it.ItemID is required; ID and Version are
// ignored. A create answered 409 reads the item back: when it holds what was
// sent, an earlier attempt succeeded (a retry, or the same write sent by an
// interrupted run that landed late) and the item is returned, otherwise the
// 409 is a conflict.
func (c *Client) Create(ctx context.Context, it provider.Item) (provider.Item, error) {
	if it.ItemID == "" {
		return provider.Item{}, errors.New("kibana: Create: empty item_id")
	}
	b := newItemBody(it)
	b.ListID = ListID
	body, err := json.Marshal(b)
	if err != nil {
		return provider.Item{}, fmt.Errorf("kibana: Create %s: %w", it.ItemID, err)
	}
	ri := reqInfo{method: http.MethodPost, path: itemsPath, item: true, global: slices.Contains(b.Tags, "policy:all")}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, body: body, limit: maxItemBody, info: ri})
	if err != nil {
		return provider.Item{}, err
	}
	if res.ok() {
		return c.decodeOwn(res.body, "POST "+itemsPath)
	}
	apiErr := c.newAPIError(ri, res.status, res.body, res.attempts)
	if res.status == http.StatusConflict {
		live, err := c.GetByItemID(ctx, it.ItemID)
		if err == nil && sameContent(b, live) {
			return live, nil
		}
		var fe *foreignListError
		if errors.As(err, &fe) {
			apiErr.Hint = fmt.Sprintf("item_id %q is held by an item of list %q (Kibana item_ids are unique across agnostic lists); plan again: new items skip item_ids held elsewhere", it.ItemID, fe.list)
			return provider.Item{}, apiErr
		}
		if err != nil {
			return provider.Item{}, fmt.Errorf("%w; reading it back failed: %w", apiErr, err)
		}
		apiErr.Hint = fmt.Sprintf("An item with item_id %q already exists with other content", it.ItemID)
	}
	return provider.Item{}, apiErr
}

// Update overwrites the item it.ID with exactly it, guarded by it.Version
// (required: without it Kibana would let the last writer win). The client
// keeps no state: the body is it as given (the engine renders every field,
// ownerSpaceId tags included), and Kibana's _version check is the only
// concurrency guard. A 409 reads the item back: when it holds what was sent,
// an earlier attempt (a retry, or the same write of an interrupted run that
// landed late) succeeded and the item is returned; otherwise the conflict
// error says what changed.
func (c *Client) Update(ctx context.Context, it provider.Item) (provider.Item, error) {
	switch {
	case it.ID == "":
		return provider.Item{}, fmt.Errorf("kibana: Update %s: empty id", it.ItemID)
	case it.ItemID == "":
		return provider.Item{}, fmt.Errorf("kibana: Update %s: empty item_id", it.ID)
	case it.Version == "":
		return provider.Item{}, fmt.Errorf("kibana: Update %s: empty _version (an unguarded update could overwrite a concurrent change)", it.ItemID)
	}
	b := newItemBody(it)
	b.ID, b.Version = it.ID, it.Version
	body, err := json.Marshal(b)
	if err != nil {
		return provider.Item{}, fmt.Errorf("kibana: Update %s: %w", it.ItemID, err)
	}
	ri := reqInfo{method: http.MethodPut, path: itemsPath, item: true, global: slices.Contains(b.Tags, "policy:all")}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, body: body, limit: maxItemBody, info: ri})
	if err != nil {
		return provider.Item{}, err
	}
	if res.ok() {
		return c.decodeOwn(res.body, "PUT "+itemsPath)
	}
	apiErr := c.newAPIError(ri, res.status, res.body, res.attempts)
	if res.status == http.StatusConflict {
		// An earlier attempt, or an interrupted run's identical write, may
		// have landed: then the item now holds exactly what we sent.
		live, err := c.Get(ctx, it.ID)
		if err != nil {
			return provider.Item{}, fmt.Errorf("%w; reading it back failed: %w", apiErr, err)
		}
		if sameContent(b, live) {
			return live, nil
		}
		if err := c.checkUnchanged(it.ID, it.ItemID, it.Version, live); err != nil {
			return provider.Item{}, err
		}
	}
	return provider.Item{}, apiErr
}

// checkUnchanged returns a conflict error describing how live differs from
// the version the caller expects.
func (c *Client) checkUnchanged(id, itemID, expectVersion string, live provider.Item) error {
	if itemID != "" && live.ItemID != itemID {
		return fmt.Errorf("kibana %q: item %s has item_id %q, not %q: %w", c.name, id, live.ItemID, itemID, provider.ErrConflict)
	}
	if live.Version == expectVersion {
		return nil
	}
	var detail []string
	detail = append(detail, fmt.Sprintf("_version %s is now %s", expectVersion, live.Version))
	if !live.UpdatedAt.IsZero() {
		detail = append(detail, "updated at "+live.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if live.UpdatedBy != "" {
		detail = append(detail, "by "+strconv.Quote(live.UpdatedBy))
	}
	return fmt.Errorf("kibana %q: item %s changed since it was read (%s): %w", c.name, live.ItemID, strings.Join(detail, ", "), provider.ErrConflict)
}

// Delete removes the item id after re-reading it and checking it still has
// expectVersion. A missing item is provider.ErrNotFound (the engine
// decides); a changed one is provider.ErrConflict saying what changed.
func (c *Client) Delete(ctx context.Context, id, expectVersion string) error {
	switch {
	case id == "":
		return errors.New("kibana: Delete: empty id")
	case expectVersion == "":
		return fmt.Errorf("kibana: Delete %s: empty expected _version", id)
	}
	live, err := c.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := c.checkUnchanged(id, "", expectVersion, live); err != nil {
		return err
	}
	ri := reqInfo{method: http.MethodDelete, path: itemsPath}
	q := url.Values{"id": {id}, "namespace_type": {NamespaceType}}
	res, err := c.do(ctx, call{method: ri.method, path: ri.path, query: q, limit: maxItemBody, info: ri})
	if err != nil {
		return err
	}
	switch {
	case res.ok():
	case res.status == http.StatusNotFound && res.attempts > 1:
		// An earlier attempt deleted it and its answer was lost.
	default:
		return c.newAPIError(ri, res.status, res.body, res.attempts)
	}
	return nil
}

// foreignListError is an item read by item_id that belongs to another list
// than endpoint_blocklists (item_ids are unique across agnostic lists).
type foreignListError struct {
	kibana, what, itemID, list string
}

func (e *foreignListError) Error() string {
	return fmt.Sprintf("kibana %q: %s: item %q belongs to list %q, not %s", e.kibana, e.what, e.itemID, e.list, ListID)
}
