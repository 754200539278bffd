package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// digestExcluded lists every field of Config (by its path in digestBase)
// that deliberately does not reach Config.Digest, with the reason. Every
// other field must change the digest when it changes.
var digestExcluded = map[string]string{
	"Dir":       "where the configuration directory is: paths are encoded as written, so running from another directory keeps a saved plan valid",
	"Variables": "variables are not encoded themselves: the values they produced are, where they are used",

	"Settings.DeclRange":         "a source position: reformatting keeps the digest",
	"Settings.Backend.URL":       "a credential (a connection URL may carry the password); the plan's state lineage and serial bind the state read",
	"Settings.Backend.DeclRange": "a source position",

	"Companies[*].DefenderKey": "a credential: rotating it keeps the digest",
	"Companies[*].DeclRange":   "a source position",

	"Filters[*].DeclRange":     "a source position",
	"Filters[*].IOCTypesRange": "a source position",

	"Kibanas[*].APIKey":       "a credential: rotating it keeps the digest",
	"Kibanas[*].ListHeadroom": "it only decides whether a plan is allowed, not what it does (see Kibana.ListHeadroom)",
	"Kibanas[*].DeclRange":    "a source position",

	"Blocklists[*].Name":                "equal to the map key, which is encoded (the Blocklists[key] case)",
	"Blocklists[*].DeclRange":           "a source position",
	"Blocklists[*].SourceRanges":        "source positions",
	"Blocklists[*].PreventDestroyRange": "a source position",
	"Blocklists[*].GuardRange":          "a source position",
}

// digestBase is a configuration in which every field is set (one entry per
// map), with the references between blocks shared as LoadDir builds them.
func digestBase() *Config {
	r := func(line int) hcl.Range {
		return hcl.Range{Filename: "main.lumu.hcl", Start: hcl.Pos{Line: line, Column: 1, Byte: line * 10}, End: hcl.Pos{Line: line, Column: 9, Byte: line*10 + 8}}
	}
	co := &Company{
		Name: "acme", UUID: "0e7d3e5a-0000-4000-8000-000000000001", DefenderKey: NewSecret("key"),
		DisplayName: NewText("Acme"), ContactName: NewText("SOC"), ContactEmail: NewText("soc@example.com"),
		APIURL: provider.DefaultLumuAPIURL, RequestsPerMinute: 50, RequestsPerDay: 10000, RetryTimeout: time.Minute, DeclRange: r(1),
	}
	f := &IOCFilter{
		Name: "hashes", Company: co, IOCTypes: []string{"hash"}, HashTypes: []provider.HashType{provider.MD5},
		AdversaryTypes: []string{"Malware"}, Days: 30, Statuses: []string{"open"}, Labels: []int{1},
		OnlyActive: true, Exclude: []string{strings.Repeat("a", 32)}, DeclRange: r(2), IOCTypesRange: r(3),
	}
	k := &Kibana{
		Name: "prod", URL: "https://kibana.example:5601", APIKey: NewSecret("api"), Space: "default", CAFile: "ca.pem",
		InsecureSkipVerify: true, Timeout: 30 * time.Second, RetryTimeout: time.Minute, ListHeadroom: 500, DeclRange: r(4),
	}
	b := &Blocklist{
		Name: "main", Kibana: k, Sources: []*IOCFilter{f}, Global: true, PolicyIDs: []string{"abc"}, OSTypes: []string{"windows"},
		MaxValuesPerItem: 1000, PreventDestroy: true, Guard: Guard{MaxDeleteFraction: 0.25, MaxDeletes: 5000, AllowEmptySources: true},
		DeclRange: r(5), SourceRanges: []hcl.Range{r(6)}, PreventDestroyRange: r(7), GuardRange: r(8),
	}
	return &Config{
		Dir: "/etc/lumuctl",
		Settings: Settings{
			StatePath: DefaultStatePath, CachePath: DefaultCachePath, Namespace: DefaultNamespace,
			Backend:   &Backend{Type: "postgres", URL: NewSecret("postgres://u:p@db/lumuctl"), Schema: DefaultBackendSchema, DeclRange: r(9)},
			DeclRange: r(10),
		},
		Variables:  map[string]*Variable{"key": {Name: "key", Type: cty.String, Value: cty.StringVal("key"), Source: "default", DeclRange: r(11)}},
		Companies:  map[string]*Company{co.Name: co},
		Filters:    map[string]*IOCFilter{f.Name: f},
		Kibanas:    map[string]*Kibana{k.Name: k},
		Blocklists: map[string]*Blocklist{b.Name: b},
	}
}

// TestDigestCoversEveryField changes every field of Config in turn, found
// by reflection, and requires the digest to change, unless the field is in
// digestExcluded, in which case the digest must stay. A field added to
// Config (or to a block it holds) is therefore either encoded by Digest or
// listed with its reason; a field dropped from Digest fails here.
func TestDigestCoversEveryField(t *testing.T) {
	base := digestBase()
	d0 := base.Digest()
	if d := digestBase().Digest(); d != d0 {
		t.Fatalf("digest not deterministic: %s, then %s", d0, d)
	}
	paths := digestPaths(reflect.ValueOf(base).Elem(), "")
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range digestExcluded {
			if !yield(p) {
				return
			}
		}
	}) {
		if !slices.Contains(paths, p) {
			t.Errorf("digestExcluded lists %s, which is not a field of Config", p)
		}
		if digestExcluded[p] == "" {
			t.Errorf("digestExcluded lists %s without a reason", p)
		}
	}
	if len(paths) < 50 {
		t.Fatalf("only %d fields found: %v", len(paths), paths)
	}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			c := digestBase()
			if err := digestMutate(digestLocate(t, reflect.ValueOf(c).Elem(), p)); err != nil {
				t.Fatalf("%s: %v (teach digestMutate the type, or list the field in digestExcluded)", p, err)
			}
			changed := c.Digest() != d0
			reason, excluded := digestExcluded[p]
			switch {
			case excluded && changed:
				t.Errorf("changing %s changed the digest, but digestExcluded says: %s", p, reason)
			case !excluded && !changed:
				t.Errorf("changing %s kept the digest: encode it in Config.Digest, or list it in digestExcluded with the reason", p)
			}
		})
	}
}

// TestDigestSensitiveText pins that informational text from a sensitive
// variable is left out (it would otherwise leak through a plan file).
func TestDigestSensitiveText(t *testing.T) {
	c := digestBase()
	c.Companies["acme"].ContactName = Text{value: "alice", sensitive: true}
	d0 := c.Digest()
	c.Companies["acme"].ContactName = Text{value: "bob", sensitive: true}
	if c.Digest() != d0 {
		t.Error("changing a sensitive contact_name changed the digest")
	}
}

// digestPaths lists the field paths below v: "Settings.Namespace",
// "Companies[*].UUID" for a field of a map's (single) entry, "Companies[key]"
// for the entry's label. Pointers to blocks held by another map (a filter's
// Company, a blocklist's Kibana and Sources) are leaves: they are references.
func digestPaths(v reflect.Value, prefix string) []string {
	var out []string
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		p := prefix + sf.Name
		fv := v.Field(i)
		switch {
		case p == "Variables":
			out = append(out, p)
		case fv.Kind() == reflect.Map:
			out = append(out, p+"[key]")
			if fv.Len() != 1 {
				panic(fmt.Sprintf("digestBase: %s must have exactly one entry", p))
			}
			out = append(out, digestPaths(fv.MapIndex(fv.MapKeys()[0]).Elem(), p+"[*].")...)
		case fv.Kind() == reflect.Pointer && !digestRef(fv.Type()):
			if fv.IsNil() {
				panic("digestBase: " + p + " is nil")
			}
			out = append(out, p)
			out = append(out, digestPaths(fv.Elem(), p+".")...)
		case fv.Kind() == reflect.Struct && fv.Type().PkgPath() == t.PkgPath() && !digestLeaf(fv.Type()):
			out = append(out, digestPaths(fv, p+".")...)
		default:
			out = append(out, p)
		}
	}
	return out
}

// digestRef reports whether t points to a block held by one of Config's maps.
func digestRef(t reflect.Type) bool {
	switch t {
	case reflect.TypeFor[*Company](), reflect.TypeFor[*IOCFilter](), reflect.TypeFor[*Kibana](), reflect.TypeFor[*Blocklist]():
		return true
	}
	return false
}

// digestLeaf reports whether t is a struct of this package that is one value.
func digestLeaf(t reflect.Type) bool {
	return t == reflect.TypeFor[Secret]() || t == reflect.TypeFor[Text]()
}

// digestLocate returns the addressable value at path p below v, or for a
// "[key]" path the map itself.
func digestLocate(t *testing.T, v reflect.Value, p string) reflect.Value {
	t.Helper()
	for p != "" {
		name, rest, _ := strings.Cut(p, ".")
		p = rest
		switch {
		case strings.HasSuffix(name, "[key]"):
			return v.FieldByName(strings.TrimSuffix(name, "[key]"))
		case strings.HasSuffix(name, "[*]"):
			m := v.FieldByName(strings.TrimSuffix(name, "[*]"))
			v = m.MapIndex(m.MapKeys()[0]).Elem()
		default:
			v = v.FieldByName(name)
			if v.Kind() == reflect.Pointer && !digestRef(v.Type()) && p != "" {
				v = v.Elem()
			}
		}
		if !v.IsValid() {
			t.Fatalf("no field %s", name)
		}
	}
	return v
}

// digestMutate changes v to a different value of its type.
func digestMutate(v reflect.Value) error {
	switch x := v.Addr().Interface().(type) {
	case *Secret:
		*x = NewSecret(x.Reveal() + "-changed")
		return nil
	case *Text:
		*x = Text{value: x.value + "-changed", sensitive: x.sensitive}
		return nil
	case *hcl.Range:
		x.Start.Line++
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float() + 0.125)
	case reflect.Slice:
		// Append a changed copy of the first element (a zero one when
		// empty); for blocks, a copy with another name.
		e := reflect.New(v.Type().Elem()).Elem()
		if v.Len() > 0 {
			if e.Kind() == reflect.Pointer {
				e = reflect.New(e.Type().Elem())
				e.Elem().Set(v.Index(0).Elem())
				if err := digestMutate(e.Elem().FieldByName("Name")); err != nil {
					return err
				}
			} else {
				e.Set(v.Index(0))
				if err := digestMutate(e); err != nil {
					return err
				}
			}
		}
		v.Set(reflect.Append(v, e))
	case reflect.Map:
		k := v.MapKeys()[0]
		e := v.MapIndex(k)
		v.SetMapIndex(k, reflect.Value{})
		v.SetMapIndex(reflect.ValueOf(k.String()+"_changed"), e)
	case reflect.Pointer:
		if !digestRef(v.Type()) {
			v.SetZero() // an optional block: remove it
			return nil
		}
		// A reference: point at another block of the same kind.
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(v.Elem())
		n.Elem().FieldByName("Name").SetString(v.Elem().FieldByName("Name").String() + "-other")
		v.Set(n)
	default:
		return fmt.Errorf("cannot change a %s", v.Type())
	}
	return nil
}
