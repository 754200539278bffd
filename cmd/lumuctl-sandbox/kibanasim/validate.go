package kibanasim

import (
	"fmt"
	"slices"
	"strings"
)

// This file is the Security Solution BlocklistValidator as the stand-in
// emulates it: it runs only for list_id endpoint_blocklists in the agnostic
// namespace (exactly as the pre-create/pre-update hooks do), normalises the
// item (duplicate values removed, first occurrence kept) and answers
// "EndpointArtifactError: ..." in the SIEM envelope.

const artifactErr = "EndpointArtifactError: "

var (
	hashFields = []string{"file.hash.md5", "file.hash.sha1", "file.hash.sha256"}
	pathFields = []string{"file.path", "file.path.caseless"}
	signerFld  = "file.Ext.code_signature"
)

func isBlocklist(listID, namespaceType string) bool {
	return listID == BlocklistListID && namespaceType == nsAgnostic
}

// isValidHash is Kibana's isValidHash: length 32, 40 or 64 and hex only.
// The length is not checked against the field.
func isValidHash(v string) bool {
	switch len(v) {
	case 32, 40, 64:
	default:
		return false
	}
	for _, c := range v {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// dedupeValues removes duplicate values of every entry, keeping the first
// occurrence (lodash uniq), as Kibana does silently since 8.2.
func dedupeValues(es []Entry) {
	for i := range es {
		if len(es[i].Value) > 1 {
			seen := make(map[string]bool, len(es[i].Value))
			out := es[i].Value[:0]
			for _, v := range es[i].Value {
				if !seen[v] {
					seen[v] = true
					out = append(out, v)
				}
			}
			es[i].Value = out
		}
		dedupeValues(es[i].Entries)
	}
}

func lenMsg(path string, n, limit int, max bool) string {
	if max {
		return fmt.Sprintf("[%s]: value has length [%d] but it must have a maximum length of [%d].", path, n, limit)
	}
	return fmt.Sprintf("[%s]: value has length [%d] but it must have a minimum length of [%d].", path, n, limit)
}

func sizeMsg(path string, n, limit int, max bool) string {
	if max {
		return fmt.Sprintf("[%s]: array size is [%d], but cannot be greater than [%d]", path, n, limit)
	}
	return fmt.Sprintf("[%s]: array size is [%d], but cannot be smaller than [%d]", path, n, limit)
}

// blocklistDataError checks the blocklist data schema and returns the
// first violation, or "". capped applies the artifact bounds (entries,
// values per entry, value length) that Kibana before GenCapped lacks.
func blocklistDataError(it *Item, capped bool) string {
	switch n := len([]rune(it.Name)); {
	case n < 1:
		return lenMsg("name", n, 1, false)
	case n > MaxNameLength:
		return lenMsg("name", n, MaxNameLength, true)
	}
	if n := len([]rune(it.Description)); n > MaxDescLength {
		return lenMsg("description", n, MaxDescLength, true)
	}
	if it.NamespaceType != nsAgnostic {
		return fmt.Sprintf("[namespaceType]: expected value to equal [%s]", nsAgnostic)
	}
	switch n := len(it.OSTypes); {
	case n < 1:
		return sizeMsg("osTypes", n, 1, false)
	case n > 1:
		return sizeMsg("osTypes", n, 1, true)
	}
	switch n := len(it.Entries); {
	case n < 1:
		return sizeMsg("entries", n, 1, false)
	case capped && n > MaxEntriesPerItem:
		return sizeMsg("entries", n, MaxEntriesPerItem, true)
	}
	for i, e := range it.Entries {
		if msg := entryError(e, fmt.Sprintf("entries.%d", i), it.OSTypes[0], capped); msg != "" {
			return msg
		}
	}
	// Combination rule: a hash first entry allows only hash entries, at
	// most 3; a path or signer first entry allows no other entry.
	if contains(hashFields, it.Entries[0].Field) {
		var bad []string
		for _, e := range it.Entries {
			if !contains(hashFields, e.Field) {
				bad = append(bad, e.Field)
			}
		}
		if len(bad) > 0 {
			return "[entries]: There are some invalid fields for hash type: " + strings.Join(bad, ",")
		}
		if len(it.Entries) > 3 {
			return "[entries]: There are more hash types than allowed [md5,sha1,sha256]"
		}
	} else if len(it.Entries) > 1 {
		return "[entries]: Only one entry is allowed when not using hash field type"
	}
	return ""
}

func entryError(e Entry, path, os string, capped bool) string {
	if e.Field == signerFld {
		if os != "windows" {
			return fmt.Sprintf("[%s.field]: %s is only allowed for windows", path, signerFld)
		}
		if e.Type != "nested" {
			return fmt.Sprintf("[%s.type]: expected value to equal [nested]", path)
		}
		for j, sub := range e.Entries {
			p := fmt.Sprintf("%s.entries.%d", path, j)
			switch {
			case sub.Field != "subject_name":
				return fmt.Sprintf("[%s.field]: expected value to equal [subject_name]", p)
			case sub.Type != "match" && sub.Type != "match_any":
				return fmt.Sprintf("[%s.type]: expected value to equal [match_any]", p)
			case sub.Operator != "included":
				return fmt.Sprintf("[%s.operator]: expected value to equal [included]", p)
			}
			for k, v := range sub.Value {
				if strings.TrimSpace(v) == "" {
					return fmt.Sprintf("[%s.value.%d]: invalid signer value [%s]", p, k, v)
				}
			}
		}
		return ""
	}
	hash := contains(hashFields, e.Field)
	if !hash && !contains(pathFields, e.Field) {
		return fmt.Sprintf("[%s.field]: expected one of [%s] but got [%s]", path,
			strings.Join(slices.Concat(hashFields, pathFields, []string{signerFld}), ", "), e.Field)
	}
	if e.Type != "match_any" {
		return fmt.Sprintf("[%s.type]: expected value to equal [match_any]", path)
	}
	if e.Operator != "included" {
		return fmt.Sprintf("[%s.operator]: expected value to equal [included]", path)
	}
	switch n := len(e.Value); {
	case n < 1:
		return sizeMsg(path+".value", n, 1, false)
	case capped && n > MaxValuesPerEntry:
		return sizeMsg(path+".value", n, MaxValuesPerEntry, true)
	}
	for k, v := range e.Value {
		p := fmt.Sprintf("%s.value.%d", path, k)
		if n := len(v); capped && n > MaxValueLength {
			return lenMsg(p, n, MaxValueLength, true)
		}
		if hash && !isValidHash(v) {
			return fmt.Sprintf("[%s]: invalid hash value [%s]", p, v)
		}
		if !hash && v == "" {
			return fmt.Sprintf("[%s]: invalid path value [%s]", p, v)
		}
	}
	return ""
}

func policyTags(tags []string) (global bool, ids []string) {
	for _, t := range tags {
		id, ok := strings.CutPrefix(t, "policy:")
		if !ok {
			continue
		}
		if id == "all" {
			global = true
		} else {
			ids = append(ids, id)
		}
	}
	return global, ids
}

// blocklistPreWrite runs the blocklist hooks of a create (cur == nil) or an
// update, in Kibana's order, and normalises cand in place. Caller holds s.mu.
func (s *Server) blocklistPreWrite(cand, cur *Item, space string) *apiErr {
	priv := s.priv
	if priv.NoBlocklistWrite {
		return siemErr(403, artifactErr+"Endpoint authorization failure")
	}
	dedupeValues(cand.Entries)
	if msg := blocklistDataError(cand, s.gen >= GenCapped); msg != "" {
		return siemErr(400, artifactErr+"%s", msg)
	}
	global, ids := policyTags(cand.Tags)
	if !global && priv.BasicLicense {
		changed := cur == nil
		if cur != nil {
			curGlobal, curIDs := policyTags(cur.Tags)
			slices.Sort(curIDs)
			sorted := slices.Sorted(slices.Values(ids))
			changed = curGlobal || !slices.Equal(curIDs, sorted)
		}
		if changed {
			return siemErr(403, artifactErr+"Your license level does not allow create/update of by policy artifacts")
		}
	}
	var invalid []string
	for _, id := range ids {
		if s.policyExists(id) || (cur != nil && contains(cur.Tags, "policy:"+id)) {
			continue
		}
		invalid = append(invalid, id)
	}
	if len(invalid) > 0 {
		return siemErr(400, artifactErr+"invalid policy ids: %s", strings.Join(invalid, ", "))
	}
	if !s.opts.Space91 {
		return nil
	}
	curGlobal := false
	if cur != nil {
		curGlobal, _ = policyTags(cur.Tags)
	}
	if (global || curGlobal) && priv.NoGlobalArtifactManagement {
		return siemErr(403, artifactErr+"Endpoint authorization failure. Management of global artifacts requires additional privilege (global artifact management)")
	}
	if cur != nil && priv.NoGlobalArtifactManagement {
		if e := ownerSpaceErr(cur, space); e != nil {
			return e
		}
	}
	owners := ownerSpaceTags(cand.Tags)
	ownerErr := siemErr(403, artifactErr+`Endpoint authorization failure. Management of "ownerSpaceId" tag requires global artifact management privilege`)
	if cur == nil {
		if len(owners) > 0 && !slices.Equal(owners, []string{ownerSpaceTagPrefx + space}) {
			return ownerErr
		}
	} else {
		was := slices.Sorted(slices.Values(ownerSpaceTags(cur.Tags)))
		if !slices.Equal(slices.Sorted(slices.Values(owners)), was) {
			return ownerErr
		}
	}
	if len(owners) == 0 {
		cand.Tags = append(cand.Tags, ownerSpaceTagPrefx+space)
	}
	return nil
}

// ownerSpaceErr is BaseValidator.validateCanUpdateItemInActiveSpace and
// validateCanDeleteItemInActiveSpace for a per-policy item, as seen by a
// user without Global Artifact Management: the item can be changed only
// from one of its ownerSpaceId spaces. Caller checked the 9.1+ mode and the
// privilege.
func ownerSpaceErr(cur *Item, space string) *apiErr {
	var owners []string
	for _, t := range cur.Tags {
		if id, ok := strings.CutPrefix(t, ownerSpaceTagPrefx); ok {
			owners = append(owners, id)
		}
	}
	if slices.Contains(owners, space) {
		return nil
	}
	word := "ID"
	if len(owners) != 1 {
		word = "IDs"
	}
	return siemErr(403, artifactErr+"Updates to this shared item can only be done from the following space %s: %s (or by someone having global artifact management privilege)",
		word, strings.Join(owners, ", "))
}
