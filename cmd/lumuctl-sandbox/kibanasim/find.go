package kibanasim

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// FindResult is the answer of GET /api/exception_lists/items/_find.
type FindResult struct {
	Data    []Item `json:"data"`
	Page    int    `json:"page"`
	PerPage int    `json:"per_page"`
	Total   int    `json:"total"`
}

// itemFields are the saved-object attributes a filter may name.
var itemFields = map[string]func(*Item) []string{
	"item_id":     func(it *Item) []string { return []string{it.ItemID} },
	"list_id":     func(it *Item) []string { return []string{it.ListID} },
	"name":        func(it *Item) []string { return []string{it.Name} },
	"description": func(it *Item) []string { return []string{it.Description} },
	"tags":        func(it *Item) []string { return it.Tags },
	"os_types":    func(it *Item) []string { return it.OSTypes },
	"entries.field": func(it *Item) []string {
		var out []string
		for _, e := range it.Entries {
			out = append(out, e.Field)
		}
		return out
	},
	"entries.value": func(it *Item) []string {
		var out []string
		for _, e := range it.Entries {
			out = append(out, e.Value...)
		}
		return out
	},
	"entries.entries.value": func(it *Item) []string {
		var out []string
		for _, e := range it.Entries {
			for _, sub := range e.Entries {
				out = append(out, sub.Value...)
			}
		}
		return out
	},
}

// itemFieldResolver accepts "<so type>.attributes.<field>" for the saved
// object type of namespaceType.
func itemFieldResolver(namespaceType string) func(string) (string, error) {
	typ := soType(namespaceType)
	return func(name string) (string, error) {
		attr, ok := strings.CutPrefix(name, typ+".attributes.")
		if !ok {
			return "", &KQLError{Msg: fmt.Sprintf("This key '%s' need to be wrapped by a saved object type like %s", name, typ)}
		}
		if _, ok := itemFields[attr]; !ok {
			return "", &KQLError{Msg: fmt.Sprintf("This key '%s' does NOT exist in %s saved object index patterns", name, typ)}
		}
		return attr, nil
	}
}

var sortFields = map[string]func(*Item) string{
	"created_at":     func(it *Item) string { return it.CreatedAt },
	"updated_at":     func(it *Item) string { return it.UpdatedAt },
	"name":           func(it *Item) string { return it.Name },
	"item_id":        func(it *Item) string { return it.ItemID },
	"list_id":        func(it *Item) string { return it.ListID },
	"tie_breaker_id": func(it *Item) string { return it.TieBreakerID },
}

func splitComma(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (s *Server) findItems(rc *reqCtx) (int, any, *apiErr) {
	q := rc.r.URL.Query()
	z := &zod{where: "request query"}
	listIDs := splitComma(q.Get("list_id"))
	if len(listIDs) == 0 {
		z.add("list_id", "Required")
	}
	for i, id := range listIDs {
		if id == "" {
			z.add(fmt.Sprintf("list_id.%d", i), "String must contain at least 1 character(s)")
		}
	}
	nss := splitComma(q.Get("namespace_type"))
	if nss == nil {
		nss = []string{nsSingle}
	}
	for i, ns := range nss {
		if ns != nsAgnostic && ns != nsSingle {
			z.add(fmt.Sprintf("namespace_type.%d", i), "Invalid enum value. Expected 'agnostic' | 'single', received '%s'", ns)
		}
	}
	filters := splitComma(q.Get("filter"))
	page, perPage := 1, 20
	if v := q.Get("page"); v != "" {
		n, err := atoiParam(v, "page")
		if err != nil {
			z.issues = append(z.issues, err.Error())
		}
		page = max(n, 1)
	}
	if v := q.Get("per_page"); v != "" {
		n, err := atoiParam(v, "per_page")
		if err != nil {
			z.issues = append(z.issues, err.Error())
		}
		perPage = n
	}
	sortField := q.Get("sort_field")
	if _, present := q["sort_field"]; present && sortField == "" {
		z.add("sort_field", "String must contain at least 1 character(s)")
	}
	sortOrder := q.Get("sort_order")
	if sortOrder != "" && sortOrder != "asc" && sortOrder != "desc" {
		z.add("sort_order", "Invalid enum value. Expected 'desc' | 'asc', received '%s'", sortOrder)
	}
	if e := z.err(); e != nil {
		return 0, nil, e
	}
	if q.Get("search") != "" {
		return 0, nil, siemErr(400, "search is not supported by the Kibana stand-in; use filter")
	}
	if len(listIDs) != len(nss) {
		return 0, nil, siemErr(400, "list_id and namespace_id need to have the same comma separated number of values. Expected list_id length: %d to equal namespace_type length: %d", len(listIDs), len(nss))
	}
	if len(filters) != 0 && len(filters) != len(listIDs) {
		return 0, nil, siemErr(400, "list_id and filter need to have the same comma separated number of values. Expected list_id length: %d to equal filter length: %d", len(listIDs), len(filters))
	}
	var key func(*Item) string
	if sortField != "" {
		var ok bool
		if key, ok = sortFields[sortField]; !ok {
			return 0, nil, siemErr(400, "No mapping found for [%s] in order to sort on", sortField)
		}
	}
	if page*perPage > MaxResultWindow {
		return 0, nil, siemErr(400, "Result window is too large, from + size must be less than or equal to: [%d] but was [%d]. See the scroll api for a more efficient way to request large data sets.", MaxResultWindow, page*perPage)
	}
	nodes := make([]kqlNode, len(listIDs))
	for i := range filters {
		if strings.TrimSpace(filters[i]) == "" {
			continue
		}
		n, err := parseKQL(filters[i], itemFieldResolver(nss[i]))
		if err != nil {
			return 0, nil, siemErr(400, "%s", err.Error())
		}
		nodes[i] = n
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range listIDs {
		if _, ok := s.lists[listKey{nsKey(nss[i], rc.space), id}]; !ok {
			return 0, nil, siemErr(404, "exception list id: %q does not exist", strings.Join(listIDs, ","))
		}
		if isBlocklist(id, nss[i]) && s.priv.NoBlocklistRead {
			return 0, nil, siemErr(403, artifactErr+"Endpoint authorization failure")
		}
	}
	var hits []*record
	for _, rec := range s.items {
		for i, id := range listIDs {
			if rec.nsKey != nsKey(nss[i], rc.space) || rec.item.ListID != id || !s.visible(&rec.item, rc.space) {
				continue
			}
			it := &rec.item
			if nodes[i] != nil && !nodes[i].eval(func(f string) []string { return itemFields[f](it) }) {
				continue
			}
			hits = append(hits, rec)
			break
		}
	}
	slices.SortFunc(hits, func(a, b *record) int {
		c := 0
		if key != nil {
			c = strings.Compare(key(&a.item), key(&b.item))
		}
		if c == 0 {
			c = cmp.Compare(a.created, b.created)
		}
		if sortOrder == "desc" {
			c = -c
		}
		return c
	})
	res := FindResult{Data: []Item{}, Page: page, PerPage: perPage, Total: len(hits)}
	from := min((page-1)*perPage, len(hits))
	to := min(from+perPage, len(hits))
	for _, rec := range hits[from:to] {
		res.Data = append(res.Data, rec.item.clone())
	}
	return 200, res, nil
}

// appendJSON appends the page as encoding/json writes it, byte for byte
// (TestFindResultJSON), in one pass: json.Marshal validates and compacts
// every item's MarshalJSON output again, which made serving a page of 100
// full items cost more than lumuctl's decoding of it.
func (r FindResult) appendJSON(b []byte) []byte {
	b = append(b, `{"data":`...)
	b = appendJSONArray(b, r.Data, func(b []byte, it *Item) []byte { return it.appendJSON(b) })
	b = append(b, `,"page":`...)
	b = strconv.AppendInt(b, int64(r.Page), 10)
	b = append(b, `,"per_page":`...)
	b = strconv.AppendInt(b, int64(r.PerPage), 10)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(r.Total), 10)
	return append(b, '}')
}

// appendJSON appends the item as encoding/json writes it (the fields in
// Item's order, nil slices as null, expire_time omitted when empty).
func (it *Item) appendJSON(b []byte) []byte {
	field := func(name, v string) {
		b = append(b, name...)
		b = appendJSONString(b, v)
	}
	strs := func(name string, vs []string) {
		b = append(b, name...)
		b = appendJSONArray(b, vs, func(b []byte, v *string) []byte { return appendJSONString(b, *v) })
	}
	field(`{"id":`, it.ID)
	field(`,"item_id":`, it.ItemID)
	field(`,"list_id":`, it.ListID)
	field(`,"namespace_type":`, it.NamespaceType)
	field(`,"type":`, it.Type)
	field(`,"name":`, it.Name)
	field(`,"description":`, it.Description)
	strs(`,"os_types":`, it.OSTypes)
	strs(`,"tags":`, it.Tags)
	b = append(b, `,"entries":`...)
	b = appendJSONArray(b, it.Entries, func(b []byte, e *Entry) []byte { return e.appendJSON(b) })
	b = append(b, `,"comments":`...)
	c, _ := json.Marshal(it.Comments) // strings only: always marshals
	b = append(b, c...)
	if it.ExpireTime != "" {
		field(`,"expire_time":`, it.ExpireTime)
	}
	field(`,"_version":`, it.Version)
	field(`,"tie_breaker_id":`, it.TieBreakerID)
	field(`,"created_at":`, it.CreatedAt)
	field(`,"created_by":`, it.CreatedBy)
	field(`,"updated_at":`, it.UpdatedAt)
	field(`,"updated_by":`, it.UpdatedBy)
	return append(b, '}')
}
