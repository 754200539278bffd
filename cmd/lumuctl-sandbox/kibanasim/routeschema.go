package kibanasim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// This file is the route-level ("zod") validation of Kibana's versioned
// routes. Failures answer 400 in the Boom envelope with messages of the form
// "[request body]: entries.0.value: Array must contain at least 1 element(s)".
// Unknown keys are stripped, as zod objects do.

type zod struct {
	where  string // "request body" or "request query"
	issues []string
}

func (z *zod) add(path, format string, args ...any) {
	z.issues = append(z.issues, path+": "+fmt.Sprintf(format, args...))
}

func (z *zod) err() *apiErr {
	if len(z.issues) == 0 {
		return nil
	}
	return boomErr(400, "[%s]: %s", z.where, strings.Join(z.issues, ", "))
}

func jsonKind(raw json.RawMessage) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "null":
		return "null"
	case strings.HasPrefix(s, "{"):
		return "object"
	case strings.HasPrefix(s, "["):
		return "array"
	case strings.HasPrefix(s, `"`):
		return "string"
	case s == "true" || s == "false":
		return "boolean"
	default:
		return "number"
	}
}

// str reads an optional or required string field.
func (z *zod) str(obj map[string]json.RawMessage, path, key string, required, nonEmpty bool) (string, bool) {
	raw, ok := obj[key]
	if !ok {
		if required {
			z.add(path+key, "Required")
		}
		return "", false
	}
	var v string
	if jsonKind(raw) != "string" || json.Unmarshal(raw, &v) != nil {
		z.add(path+key, "Expected string, received %s", jsonKind(raw))
		return "", false
	}
	if nonEmpty && v == "" {
		z.add(path+key, "String must contain at least 1 character(s)")
	}
	return v, true
}

func (z *zod) enum(obj map[string]json.RawMessage, path, key string, required bool, allowed ...string) (string, bool) {
	v, ok := z.str(obj, path, key, required, false)
	if !ok {
		return "", false
	}
	for _, a := range allowed {
		if v == a {
			return v, true
		}
	}
	if len(allowed) == 1 {
		z.add(path+key, "Invalid literal value, expected %q", allowed[0])
	} else {
		z.add(path+key, "Invalid enum value. Expected '%s', received '%s'", strings.Join(allowed, "' | '"), v)
	}
	return "", false
}

func (z *zod) array(obj map[string]json.RawMessage, path, key string, required bool) ([]json.RawMessage, bool) {
	raw, ok := obj[key]
	if !ok {
		if required {
			z.add(path+key, "Required")
		}
		return nil, false
	}
	var arr []json.RawMessage
	if jsonKind(raw) != "array" || json.Unmarshal(raw, &arr) != nil {
		z.add(path+key, "Expected array, received %s", jsonKind(raw))
		return nil, false
	}
	if arr == nil {
		arr = []json.RawMessage{}
	}
	return arr, true
}

func (z *zod) object(raw json.RawMessage, path string) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if jsonKind(raw) != "object" || json.Unmarshal(raw, &obj) != nil {
		z.add(strings.TrimSuffix(path, "."), "Expected object, received %s", jsonKind(raw))
		return nil, false
	}
	return obj, true
}

func (z *zod) strArray(obj map[string]json.RawMessage, path, key string, nonEmptyItems bool, allowed []string) ([]string, bool) {
	arr, ok := z.array(obj, path, key, false)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(arr))
	for i, raw := range arr {
		p := fmt.Sprintf("%s%s.%d", path, key, i)
		var v string
		if jsonKind(raw) != "string" || json.Unmarshal(raw, &v) != nil {
			z.add(p, "Expected string, received %s", jsonKind(raw))
			continue
		}
		if nonEmptyItems && v == "" {
			z.add(p, "String must contain at least 1 character(s)")
		}
		if allowed != nil && !contains(allowed, v) {
			z.add(p, "Invalid enum value. Expected '%s', received '%s'", strings.Join(allowed, "' | '"), v)
		}
		out = append(out, v)
	}
	return out, true
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

var osTypes = []string{"linux", "macos", "windows"}

// itemBody is a create or update body after route validation.
type itemBody struct {
	ID, ItemID, ListID string
	Type, Name, Desc   string
	NamespaceType      string
	Version            string
	HasVersion         bool
	ExpireTime         string
	Entries            []Entry
	OSTypes, Tags      []string
	Meta               json.RawMessage // a non-null object; refused at storage (see mapping.go)
	Comments           []commentIn
}

type commentIn struct{ ID, Comment string }

// parseItemBody validates a create (update=false) or update body.
func parseItemBody(body []byte, update bool) (*itemBody, *apiErr) {
	z := &zod{where: "request body"}
	if body == nil {
		z.issues = append(z.issues, "Expected object, received null")
		return nil, z.err()
	}
	var obj map[string]json.RawMessage
	if jsonKind(body) != "object" || json.Unmarshal(body, &obj) != nil {
		z.issues = append(z.issues, "Expected object, received "+jsonKind(body))
		return nil, z.err()
	}
	b := &itemBody{}
	if update {
		b.ID, _ = z.str(obj, "", "id", false, true)
		b.Version, b.HasVersion = z.str(obj, "", "_version", false, false)
	}
	b.ItemID, _ = z.str(obj, "", "item_id", false, true)
	b.ListID, _ = z.str(obj, "", "list_id", !update, true)
	b.Type, _ = z.enum(obj, "", "type", true, "simple")
	b.Name, _ = z.str(obj, "", "name", true, true)
	b.Desc, _ = z.str(obj, "", "description", true, false)
	b.NamespaceType, _ = z.enum(obj, "", "namespace_type", false, nsAgnostic, nsSingle)
	if b.NamespaceType == "" {
		b.NamespaceType = nsSingle
	}
	if raw, ok := obj["meta"]; ok && jsonKind(raw) != "null" {
		if jsonKind(raw) != "object" {
			z.add("meta", "Expected object, received %s", jsonKind(raw))
		}
		b.Meta = raw
	}
	if v, ok := z.str(obj, "", "expire_time", false, false); ok {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			z.add("expire_time", "Invalid datetime")
		}
		b.ExpireTime = v
	}
	if arr, ok := z.array(obj, "", "entries", true); ok {
		b.Entries = z.entries(arr, "entries.", false)
	}
	b.OSTypes, _ = z.strArray(obj, "", "os_types", false, osTypes)
	b.Tags, _ = z.strArray(obj, "", "tags", true, nil)
	if arr, ok := z.array(obj, "", "comments", false); ok {
		for i, raw := range arr {
			p := fmt.Sprintf("comments.%d.", i)
			c, ok := z.object(raw, p)
			if !ok {
				continue
			}
			var in commentIn
			if update {
				in.ID, _ = z.str(c, p, "id", false, true)
			}
			in.Comment, _ = z.str(c, p, "comment", true, true)
			b.Comments = append(b.Comments, in)
		}
	}
	if e := z.err(); e != nil {
		return nil, e
	}
	if b.OSTypes == nil {
		b.OSTypes = []string{}
	}
	if b.Tags == nil {
		b.Tags = []string{}
	}
	return b, nil
}

var (
	entryTypes       = []string{"match", "match_any", "list", "exists", "nested", "wildcard"}
	nestedEntryTypes = []string{"match", "match_any", "exists"}
	operators        = []string{"excluded", "included"}
)

// entries validates the generic entry array (the discriminated union of
// exception_list_item_entry.schema.yaml).
func (z *zod) entries(arr []json.RawMessage, path string, nested bool) []Entry {
	out := make([]Entry, 0, len(arr))
	for i, raw := range arr {
		p := fmt.Sprintf("%s%d.", path, i)
		obj, ok := z.object(raw, p)
		if !ok {
			continue
		}
		allowed := entryTypes
		if nested {
			allowed = nestedEntryTypes
		}
		typ, _ := z.str(obj, p, "type", true, false)
		if _, present := obj["type"]; present && !contains(allowed, typ) {
			z.add(p+"type", "Invalid discriminator value. Expected '%s'", strings.Join(allowed, "' | '"))
			continue
		}
		e := Entry{Type: typ}
		e.Field, _ = z.str(obj, p, "field", true, true)
		switch typ {
		case "match", "wildcard":
			e.Operator, _ = z.enum(obj, p, "operator", true, operators...)
			if v, ok := z.str(obj, p, "value", true, true); ok {
				e.Value = []string{v}
			}
		case "match_any":
			e.Operator, _ = z.enum(obj, p, "operator", true, operators...)
			if vs, ok := z.strArray(obj, p, "value", true, nil); ok {
				if len(vs) == 0 {
					z.add(p+"value", "Array must contain at least 1 element(s)")
				}
				e.Value = vs
			} else if _, present := obj["value"]; !present {
				z.add(p+"value", "Required")
			}
		case "exists":
			e.Operator, _ = z.enum(obj, p, "operator", true, operators...)
		case "list":
			z.add(p+"type", "list entries are not supported by the Kibana stand-in")
		case "nested":
			if sub, ok := z.array(obj, p, "entries", true); ok {
				if len(sub) == 0 {
					z.add(p+"entries", "Array must contain at least 1 element(s)")
				}
				e.Entries = z.entries(sub, p+"entries.", true)
			}
		}
		out = append(out, e)
	}
	return out
}

// listBody is a create-list body after route validation.
func parseListBody(body []byte) (List, *apiErr) {
	z := &zod{where: "request body"}
	var obj map[string]json.RawMessage
	if body == nil || jsonKind(body) != "object" || json.Unmarshal(body, &obj) != nil {
		kind := "null"
		if body != nil {
			kind = jsonKind(body)
		}
		z.issues = append(z.issues, "Expected object, received "+kind)
		return List{}, z.err()
	}
	var l List
	l.ListID, _ = z.str(obj, "", "list_id", false, true)
	l.Name, _ = z.str(obj, "", "name", true, true)
	l.Description, _ = z.str(obj, "", "description", true, false)
	l.Type, _ = z.enum(obj, "", "type", true, "detection", "rule_default", "endpoint",
		"endpoint_trusted_apps", "endpoint_trusted_devices", "endpoint_events",
		"endpoint_host_isolation_exceptions", "endpoint_blocklists")
	l.NamespaceType, _ = z.enum(obj, "", "namespace_type", false, nsAgnostic, nsSingle)
	if l.NamespaceType == "" {
		l.NamespaceType = nsSingle
	}
	l.OSTypes, _ = z.strArray(obj, "", "os_types", false, osTypes)
	l.Tags, _ = z.strArray(obj, "", "tags", false, nil)
	if raw, ok := obj["meta"]; ok && jsonKind(raw) != "null" {
		if jsonKind(raw) != "object" {
			z.add("meta", "Expected object, received %s", jsonKind(raw))
		}
		l.meta = raw
	}
	if raw, ok := obj["version"]; ok {
		var v int
		if json.Unmarshal(raw, &v) != nil || v < 1 {
			z.add("version", "Number must be greater than or equal to 1")
		}
	}
	return l, z.err()
}
