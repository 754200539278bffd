package kibanasim

import (
	"net/url"
	"slices"
)

// queryNamespace reads namespace_type from a query (default single).
func queryNamespace(q url.Values, z *zod) string {
	ns := q.Get("namespace_type")
	switch ns {
	case "":
		return nsSingle
	case nsAgnostic, nsSingle:
		return ns
	}
	z.add("namespace_type", "Invalid enum value. Expected 'agnostic' | 'single', received '%s'", ns)
	return ""
}

func (s *Server) readList(rc *reqCtx) (int, any, *apiErr) {
	q := rc.r.URL.Query()
	z := &zod{where: "request query"}
	ns := queryNamespace(q, z)
	if e := z.err(); e != nil {
		return 0, nil, e
	}
	id, listID := q.Get("id"), q.Get("list_id")
	if id == "" && listID == "" {
		return 0, nil, siemErr(400, "id or list_id required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := nsKey(ns, rc.space)
	for k, l := range s.lists {
		if k.ns == key && ((id != "" && l.ID == id) || (id == "" && l.ListID == listID)) {
			return 200, *l, nil
		}
	}
	if id != "" {
		return 0, nil, siemErr(404, "exception list id: %q does not exist", id)
	}
	return 0, nil, siemErr(404, "exception list list_id: %q does not exist", listID)
}

func (s *Server) createList(rc *reqCtx) (int, any, *apiErr) {
	l, e := parseListBody(rc.body)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.ListID == "" {
		l.ListID = s.newUUID()
	}
	key := listKey{nsKey(l.NamespaceType, rc.space), l.ListID}
	if _, ok := s.lists[key]; ok {
		return 0, nil, siemErr(409, "exception list id: %q already exists", l.ListID)
	}
	if e := mappingError(soType(l.NamespaceType), "(new)", l.meta); e != nil {
		return 0, nil, e
	}
	return 200, s.createListLocked(l, key.ns), nil
}

// deleteList is DELETE /api/exception_lists: the list and every item of it
// are deleted, and the deleted list is returned (lists plugin
// delete_exception_list_route.ts; services delete_exception_list.ts
// deletes the items first).
func (s *Server) deleteList(rc *reqCtx) (int, any, *apiErr) {
	q := rc.r.URL.Query()
	z := &zod{where: "request query"}
	ns := queryNamespace(q, z)
	if e := z.err(); e != nil {
		return 0, nil, e
	}
	id, listID := q.Get("id"), q.Get("list_id")
	if id == "" && listID == "" {
		return 0, nil, siemErr(400, "Either \"list_id\" or \"id\" needs to be defined in the request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := nsKey(ns, rc.space)
	for k, l := range s.lists {
		if k.ns != key || !((id != "" && l.ID == id) || (id == "" && l.ListID == listID)) {
			continue
		}
		for _, rec := range s.items {
			if rec.nsKey == key && rec.item.ListID == l.ListID {
				s.removeLocked(rec)
			}
		}
		out := *l
		delete(s.lists, k)
		return 200, out, nil
	}
	if id != "" {
		return 0, nil, siemErr(404, "exception list id: %q does not exist", id)
	}
	return 0, nil, siemErr(404, "exception list list_id: %q does not exist", listID)
}

func (s *Server) readItem(rc *reqCtx) (int, any, *apiErr) {
	q := rc.r.URL.Query()
	z := &zod{where: "request query"}
	ns := queryNamespace(q, z)
	if e := z.err(); e != nil {
		return 0, nil, e
	}
	id, itemID := q.Get("id"), q.Get("item_id")
	if id == "" && itemID == "" {
		return 0, nil, siemErr(400, "id or item_id required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.lookupItem(nsKey(ns, rc.space), id, itemID)
	if rec == nil {
		return 0, nil, notFoundItem(id, itemID)
	}
	if isBlocklist(rec.item.ListID, ns) && s.priv.NoBlocklistRead {
		return 0, nil, siemErr(403, artifactErr+"Endpoint authorization failure")
	}
	return 200, rec.item.clone(), nil
}

func (s *Server) createItem(rc *reqCtx) (int, any, *apiErr) {
	b, e := parseItemBody(rc.body, false)
	if e != nil {
		return 0, nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := nsKey(b.NamespaceType, rc.space)
	if _, ok := s.lists[listKey{ns, b.ListID}]; !ok {
		return 0, nil, siemErr(404, "exception list id: %q does not exist", b.ListID)
	}
	if b.ItemID != "" {
		if _, taken := s.byItemID[ns][b.ItemID]; taken {
			return 0, nil, siemErr(409, "exception list item id: %q already exists", b.ItemID)
		}
	} else {
		b.ItemID = s.newUUID()
	}
	now := s.now()
	it := Item{
		ID: s.newUUID(), ItemID: b.ItemID, ListID: b.ListID, NamespaceType: b.NamespaceType,
		Type: b.Type, Name: b.Name, Description: b.Desc, OSTypes: b.OSTypes, Tags: b.Tags,
		Entries: b.Entries, Comments: []Comment{}, ExpireTime: b.ExpireTime,
		TieBreakerID: s.newUUID(), CreatedAt: now, CreatedBy: s.opts.User, UpdatedAt: now, UpdatedBy: s.opts.User,
	}
	s.appendComments(&it, b.Comments, now)
	if isBlocklist(it.ListID, it.NamespaceType) {
		if e := s.blocklistPreWrite(&it, nil, rc.space); e != nil {
			return 0, nil, e
		}
	}
	if e := mappingError(soType(it.NamespaceType), it.ID, b.Meta); e != nil {
		return 0, nil, e
	}
	rec := s.insertLocked(it, ns)
	if s.countList(ns, it.ListID) > MaxListSize {
		s.removeLocked(rec)
		return 0, nil, siemErr(400, "Failed to add exception item, exception list would exceed max size of %d", MaxListSize)
	}
	return 200, rec.item.clone(), nil
}

func (s *Server) appendComments(it *Item, in []commentIn, now string) {
	for _, c := range in {
		if c.ID != "" {
			continue // existing comments are kept as stored
		}
		it.Comments = append(it.Comments, Comment{ID: s.newUUID(), Comment: c.Comment, CreatedAt: now, CreatedBy: s.opts.User})
	}
}

func (s *Server) updateItem(rc *reqCtx) (int, any, *apiErr) {
	b, e := parseItemBody(rc.body, true)
	if e != nil {
		return 0, nil, e
	}
	for i := 1; i < len(b.Comments); i++ {
		if b.Comments[i-1].ID == "" && b.Comments[i].ID != "" {
			return 0, nil, &apiErr{status: 400, msgs: []string{`item "comments" are append only`}}
		}
	}
	if b.ID == "" && b.ItemID == "" {
		return 0, nil, siemErr(404, "either id or item_id need to be defined")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := nsKey(b.NamespaceType, rc.space)
	rec := s.lookupItem(ns, b.ID, b.ItemID)
	if rec == nil {
		return 0, nil, notFoundItem(b.ID, b.ItemID)
	}
	cur := rec.item
	// PUT overwrites: omitted tags, os_types, meta and expire_time are gone.
	cand := cur.clone()
	cand.Type, cand.Name, cand.Description = b.Type, b.Name, b.Desc
	cand.Entries, cand.OSTypes, cand.Tags = b.Entries, b.OSTypes, b.Tags
	cand.ExpireTime = b.ExpireTime
	now := s.now()
	s.appendComments(&cand, b.Comments, now)
	if isBlocklist(cur.ListID, cur.NamespaceType) {
		if e := s.blocklistPreWrite(&cand, &cur, rc.space); e != nil {
			return 0, nil, e
		}
	}
	if b.HasVersion {
		seq, ok := decodeVersion(b.Version)
		if !ok {
			return 0, nil, siemErr(400, "Invalid version [%s]", b.Version)
		}
		if seq != rec.seq {
			return 0, nil, siemErr(409, "Saved object [%s/%s] conflict", soType(cur.NamespaceType), cur.ID)
		}
	}
	if e := mappingError(soType(cur.NamespaceType), cur.ID, b.Meta); e != nil {
		return 0, nil, e
	}
	cand.UpdatedBy = s.opts.User
	rec.item = cand
	s.bumpLocked(rec)
	return 200, rec.item.clone(), nil
}

func soType(namespaceType string) string {
	if namespaceType == nsAgnostic {
		return "exception-list-agnostic"
	}
	return "exception-list"
}

func (s *Server) deleteItem(rc *reqCtx) (int, any, *apiErr) {
	q := rc.r.URL.Query()
	z := &zod{where: "request query"}
	ns := queryNamespace(q, z)
	if e := z.err(); e != nil {
		return 0, nil, e
	}
	id, itemID := q.Get("id"), q.Get("item_id")
	if id == "" && itemID == "" {
		return 0, nil, siemErr(400, `Either "item_id" or "id" needs to be defined in the request`)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.lookupItem(nsKey(ns, rc.space), id, itemID)
	if rec == nil {
		return 0, nil, notFoundItem(id, itemID)
	}
	if isBlocklist(rec.item.ListID, ns) {
		if s.priv.NoBlocklistWrite {
			return 0, nil, siemErr(403, artifactErr+"Endpoint authorization failure")
		}
		if global, _ := policyTags(rec.item.Tags); s.opts.Space91 && global && s.priv.NoGlobalArtifactManagement {
			return 0, nil, siemErr(403, artifactErr+"Endpoint authorization failure. Management of global artifacts requires additional privilege (global artifact management)")
		}
		if s.opts.Space91 && s.priv.NoGlobalArtifactManagement {
			if e := ownerSpaceErr(&rec.item, rc.space); e != nil {
				return 0, nil, e
			}
		}
	}
	out := rec.item.clone()
	s.removeLocked(rec)
	return 200, out, nil
}

// Summary is the answer of GET /api/exception_lists/summary.
type Summary struct {
	Windows int `json:"windows"`
	Linux   int `json:"linux"`
	MacOS   int `json:"macos"`
	Total   int `json:"total"`
}

func (s *Server) summary(rc *reqCtx) (int, any, *apiErr) {
	q := rc.r.URL.Query()
	z := &zod{where: "request query"}
	ns := queryNamespace(q, z)
	if e := z.err(); e != nil {
		return 0, nil, e
	}
	listID := q.Get("list_id")
	if listID == "" && q.Get("id") == "" {
		return 0, nil, siemErr(400, "id or list_id required")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := nsKey(ns, rc.space)
	if _, ok := s.lists[listKey{key, listID}]; !ok {
		return 0, nil, siemErr(404, "exception list id: %q does not exist", listID)
	}
	if isBlocklist(listID, ns) && s.priv.NoBlocklistRead {
		return 0, nil, siemErr(403, artifactErr+"Endpoint authorization failure")
	}
	var sum Summary
	for _, rec := range s.items {
		if rec.nsKey != key || rec.item.ListID != listID || !s.visible(&rec.item, rc.space) {
			continue
		}
		sum.Total++
		switch {
		case slices.Contains(rec.item.OSTypes, "windows"):
			sum.Windows++
		case slices.Contains(rec.item.OSTypes, "linux"):
			sum.Linux++
		case slices.Contains(rec.item.OSTypes, "macos"):
			sum.MacOS++
		}
	}
	return 200, sum, nil
}

// visible applies the 9.1+ space scope of endpoint artifacts: global items,
// items tagged with a policy (all policies are visible in every space here),
// or unassigned items owned by the active space. Caller holds s.mu.
func (s *Server) visible(it *Item, space string) bool {
	if !s.opts.Space91 || !isBlocklist(it.ListID, it.NamespaceType) {
		return true
	}
	global, ids := policyTags(it.Tags)
	if global || len(ids) > 0 {
		return true
	}
	return slices.Contains(it.Tags, ownerSpaceTagPrefx+space)
}
