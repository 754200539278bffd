package config

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Allowed values of SPEC section 2.
var (
	// IOCTypes are the values of ioc_filter.ioc_types.
	IOCTypes = []string{"ip", "domain", "url", "hash"}
	// HashTypeNames are the values of ioc_filter.hash_types.
	HashTypeNames = []string{"sha256", "sha1", "md5"}
	// AdversaryTypes are the values of ioc_filter.adversary_types.
	AdversaryTypes = []string{"C2C", "Malware", "DGA", "Mining", "Spam", "Phishing", "Anonymizer", "Network Scan", "Inappropriate content"}
	// DefaultAdversaryTypes is the default of ioc_filter.adversary_types.
	DefaultAdversaryTypes = []string{"C2C", "Malware", "Mining", "Spam", "Phishing"}
	// Statuses are the values of ioc_filter.statuses.
	Statuses = []string{"open", "closed"}
)

var (
	namespaceRE = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	schemaRE    = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	uuidRE      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	spaceRE     = regexp.MustCompile(`^[a-z0-9_-]{1,255}$`)
	policyIDRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	emailRE     = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)
)

var (
	settingsSchema = bodySchema{what: "the settings block", attrs: []string{"state_path", "cache_path", "namespace"},
		blocks: []string{"backend"}, labeled: []string{"backend"}}
	backendSchema = bodySchema{what: `a backend "postgres" block`, attrs: []string{"url", "schema"}, required: []string{"url"}}
	companySchema = bodySchema{
		what:     "a company block",
		attrs:    []string{"uuid", "defender_key", "name", "contact_name", "contact_email", "api_url", "requests_per_minute", "requests_per_day", "retry_timeout"},
		required: []string{"uuid", "defender_key"},
	}
	filterSchema = bodySchema{
		what:     "an ioc_filter block",
		attrs:    []string{"company", "ioc_types", "hash_types", "adversary_types", "days", "statuses", "labels", "only_active", "exclude"},
		required: []string{"company"},
	}
	kibanaSchema = bodySchema{
		what:     "a kibana block",
		attrs:    []string{"url", "api_key", "space", "ca_file", "insecure_skip_verify", "timeout", "retry_timeout", "list_headroom"},
		required: []string{"url", "api_key"},
	}
	blocklistSchema = bodySchema{
		what:     "a blocklist block",
		attrs:    []string{"kibana", "sources", "policies", "os_types", "max_values_per_item", "prevent_destroy"},
		required: []string{"kibana", "sources"},
		blocks:   []string{"guard"},
	}
	guardSchema = bodySchema{what: "a guard block", attrs: []string{"max_delete_fraction", "max_deletes", "allow_empty_sources"}}
)

func (l *loader) decodeSettings() {
	s := Settings{StatePath: DefaultStatePath, CachePath: DefaultCachePath, Namespace: DefaultNamespace}
	defer func() { l.cfg.Settings = s }()
	bs := l.blocks["settings"]
	if len(bs) == 0 {
		return
	}
	for _, b := range bs[1:] {
		l.errorf(b.TypeRange.Ptr(), "Duplicate settings block",
			"A configuration has at most one settings block; the first is at %s. Merge the two blocks.", bs[0].DefRange())
	}
	b := bs[0]
	s.DeclRange = b.DefRange()
	c := l.checkBody(b.Body, settingsSchema, b.DefRange())
	w := func(a string) where { return where{a, "settings"} }
	for _, name := range []string{"state_path", "cache_path"} {
		a := c.attrs[name]
		if a == nil {
			continue
		}
		p, known, ok := l.str(a, w(name))
		if !ok || !known {
			continue
		}
		if strings.TrimSpace(p) == "" {
			l.errorf(a.Expr.Range().Ptr(), "Invalid value", "The %s must not be empty. Remove the attribute to use the default.", w(name))
			continue
		}
		if name == "state_path" {
			s.StatePath = p
		} else {
			s.CachePath = p
		}
	}
	if a := c.attrs["cache_path"]; a != nil {
		// Compared as cleaned paths ("./.lumuctl/state.db" is
		// ".lumuctl/state.db"), also with the state's lock and backup.
		st, ca := filepath.Clean(s.StatePath), filepath.Clean(s.CachePath)
		for _, clash := range []string{st, st + ".lock", st + ".backup"} {
			if ca == clash {
				l.errorf(a.Expr.Range().Ptr(), "Conflicting paths", "The cache_path %q is the same file as %q (the state_path is %q): the state, its lock and backup, and the cache are separate files.", s.CachePath, clash, s.StatePath)
				break
			}
		}
	}
	if b := c.blocks["backend"]; b != nil {
		s.Backend = l.backend(b)
		if s.Backend != nil {
			for _, name := range []string{"state_path", "cache_path"} {
				if a := c.attrs[name]; a != nil {
					l.errorf(a.NameRange.Ptr(), "Conflicting settings",
						"The %s cannot be set together with a backend block: with backend %q, the state and the cache live in the database. Remove one of them.", name, s.Backend.Type)
				}
			}
		}
	}
	if a := c.attrs["namespace"]; a != nil {
		ns, known, ok := l.str(a, w("namespace"))
		if ok && known {
			if !namespaceRE.MatchString(ns) {
				l.errorf(a.Expr.Range().Ptr(), "Invalid namespace",
					"The namespace %q is not valid: use 1 to 32 lowercase letters, digits or underscores ([a-z0-9_]{1,32}, no \"-\"). It becomes part of the Kibana item ids lumuctl owns.", ns)
			} else {
				s.Namespace = ns
			}
		}
	}
}

// BackendTypes are the labels a settings.backend block accepts.
var BackendTypes = []string{"postgres"}

// backend decodes settings.backend "TYPE" { ... }; nil when invalid.
func (l *loader) backend(b *hclsyntax.Block) *Backend {
	typ := b.Labels[0]
	if !slices.Contains(BackendTypes, typ) {
		l.errorf(b.LabelRanges[0].Ptr(), "Unsupported backend",
			"The backend %q is not supported.%s Supported backends are %s.", typ, didYouMean(typ, BackendTypes), quotedList(BackendTypes))
		return nil
	}
	be := &Backend{Type: typ, Schema: DefaultBackendSchema, URL: unknownSecret(), DeclRange: b.DefRange()}
	c := l.checkBody(b.Body, backendSchema, b.DefRange())
	w := func(a string) where { return where{a, `the backend "` + typ + `" block`} }
	if a := c.attrs["url"]; a != nil {
		v, _, ok := l.value(a, cty.String, w("url"))
		switch {
		case !ok:
		case !v.IsKnown():
		case strings.TrimSpace(v.AsString()) == "":
			l.errorf(a.Expr.Range().Ptr(), "Empty backend url",
				"The url of the backend is empty. Give a postgres:// URL or a key=value connection string, preferably through a sensitive variable.")
		default:
			be.URL = NewSecret(v.AsString())
			if len(a.Expr.Variables()) == 0 && urlHasPassword(v.AsString()) {
				l.warnf(a.Expr.Range().Ptr(), "Credential written as a literal",
					"The %s holds a password as a literal string, so anyone who can read this file can use it. Declare a variable with sensitive = true, reference it here (var.NAME), and set it with %sNAME; or leave the password out and use PGPASSWORD or ~/.pgpass.", w("url"), EnvVarPrefix)
			}
		}
	}
	if a := c.attrs["schema"]; a != nil {
		if sch, known, ok := l.str(a, w("schema")); ok && known {
			if !schemaRE.MatchString(sch) {
				l.errorf(a.Expr.Range().Ptr(), "Invalid schema name",
					"The schema %q is not valid: use 1 to 63 lowercase letters, digits or underscores, not starting with a digit.", sch)
			} else {
				be.Schema = sch
			}
		}
	}
	return be
}

// urlHasPassword reports whether a postgres:// URL or key=value string
// carries a password.
func urlHasPassword(s string) bool {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return true
		}
	}
	return strings.Contains(s, "password=")
}

func (l *loader) decodeCompanies() {
	for _, b := range l.unique("company") {
		co := &Company{
			Name: b.Labels[0], APIURL: provider.DefaultLumuAPIURL, RequestsPerMinute: provider.DefaultRequestsPerMinute, RequestsPerDay: provider.DefaultRequestsPerDay,
			RetryTimeout: provider.DefaultRetryTimeout, DeclRange: b.DefRange(), DefenderKey: unknownSecret(),
		}
		l.cfg.Companies[co.Name] = co
		c := l.checkBody(b.Body, companySchema, b.DefRange())
		w := func(a string) where { return where{a, blockName(b)} }
		if a := c.attrs["uuid"]; a != nil {
			if s, known, ok := l.str(a, w("uuid")); ok && known {
				if !uuidRE.MatchString(s) {
					l.errorf(a.Expr.Range().Ptr(), "Invalid UUID",
						"The uuid of %s must be a Lumu company UUID such as \"10228d9c-ff18-4251-ac19-514185e00f17\" (8-4-4-4-12 hex digits); got %q.", blockName(b), s)
				}
				co.UUID = strings.ToLower(s)
			}
		}
		if a := c.attrs["defender_key"]; a != nil {
			co.DefenderKey = l.credential(a, w("defender_key"))
		}
		if a := c.attrs["name"]; a != nil {
			co.DisplayName = l.text(a, w("name"))
		}
		if a := c.attrs["contact_name"]; a != nil {
			co.ContactName = l.text(a, w("contact_name"))
		}
		if a := c.attrs["contact_email"]; a != nil {
			co.ContactEmail = l.text(a, w("contact_email"))
			if v := co.ContactEmail.Reveal(); v != "" && !emailRE.MatchString(v) {
				shown := fmt.Sprintf("%q", v)
				if co.ContactEmail.Sensitive() {
					shown = "the given (sensitive) value"
				}
				l.errorf(a.Expr.Range().Ptr(), "Invalid email address", "The contact_email of %s must be an email address such as \"soc@example.com\"; got %s.", blockName(b), shown)
			}
		}
		if a := c.attrs["api_url"]; a != nil {
			if u, ok := l.url(a, w("api_url")); ok {
				co.APIURL = u
			}
		}
		if a := c.attrs["requests_per_minute"]; a != nil {
			if n, known, ok := l.integer(a, w("requests_per_minute"), 1, 100000); ok && known {
				co.RequestsPerMinute = n
			}
		}
		if a := c.attrs["requests_per_day"]; a != nil {
			if n, known, ok := l.integer(a, w("requests_per_day"), 1, 10000000); ok && known {
				co.RequestsPerDay = n
			}
		}
		if a := c.attrs["retry_timeout"]; a != nil {
			if d, known, ok := l.duration(a, w("retry_timeout")); ok && known {
				co.RetryTimeout = d
			}
		}
	}
}

// credential decodes defender_key or api_key: a Secret, with a warning when
// written as a literal.
func (l *loader) credential(a *hclsyntax.Attribute, w where) Secret {
	if len(a.Expr.Variables()) == 0 {
		l.literalCreds = append(l.literalCreds, a.SrcRange)
	}
	v, _, ok := l.value(a, cty.String, w)
	if !ok {
		return unknownSecret()
	}
	if len(a.Expr.Variables()) == 0 {
		l.warnf(a.Expr.Range().Ptr(), "Credential written as a literal",
			"The %s is a literal string, so anyone who can read this file can use it. Declare a variable with sensitive = true, reference it here (var.NAME), and set it with %sNAME, a .lumuvars file kept out of version control, or --var.", w, EnvVarPrefix)
	}
	if !v.IsKnown() {
		return unknownSecret()
	}
	if strings.TrimSpace(v.AsString()) == "" {
		l.errorf(a.Expr.Range().Ptr(), "Empty credential", "The %s is empty. Give the API key, preferably through a sensitive variable.", w)
	}
	return NewSecret(v.AsString())
}

// text decodes an informational string that may be sensitive.
func (l *loader) text(a *hclsyntax.Attribute, w where) Text {
	v, sens, ok := l.value(a, cty.String, w)
	if !ok || !v.IsKnown() {
		return Text{sensitive: sens}
	}
	return Text{value: v.AsString(), sensitive: sens}
}

// url decodes an http(s) URL with a host, returned without trailing slash.
func (l *loader) url(a *hclsyntax.Attribute, w where) (string, bool) {
	s, known, ok := l.str(a, w)
	if !ok || !known {
		return "", false
	}
	u, err := url.Parse(s)
	problem := ""
	switch {
	case err != nil:
		problem = "it cannot be parsed"
	case u.Scheme != "http" && u.Scheme != "https":
		problem = "the scheme must be http or https"
	case u.Host == "" || u.Hostname() == "":
		problem = "it has no host"
	case u.User != nil:
		problem = "it must not contain credentials; give the key in its own attribute"
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#"):
		problem = "it must not have a query or fragment"
	}
	if problem != "" {
		shown := ScrubURL(s)
		l.errorf(a.Expr.Range().Ptr(), "Invalid URL",
			"The %s must be an absolute http(s) URL such as \"https://host:port/base\"; %s (got %q).", w, problem, shown)
		return "", false
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		l.warnf(a.Expr.Range().Ptr(), "API key sent in clear",
			"The %s uses http:// to %s, which is not this machine: the API key and every answer cross the network unencrypted, so anyone on the path can read the key and change what lumuctl blocks. Use https://.", w, u.Hostname())
	}
	return strings.TrimRight(s, "/"), true
}

// isLoopback reports whether host names this machine: "localhost" (and
// its subdomains, RFC 6761) or a loopback address.
func isLoopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func (l *loader) decodeKibanas() {
	for _, b := range l.unique("kibana") {
		k := &Kibana{
			Name: b.Labels[0], Space: DefaultKibanaSpace, Timeout: provider.DefaultKibanaTimeout,
			RetryTimeout: provider.DefaultRetryTimeout, DeclRange: b.DefRange(), APIKey: unknownSecret(),
			ListHeadroom: DefaultListHeadroom,
		}
		l.cfg.Kibanas[k.Name] = k
		c := l.checkBody(b.Body, kibanaSchema, b.DefRange())
		w := func(a string) where { return where{a, blockName(b)} }
		if a := c.attrs["url"]; a != nil {
			k.URL, _ = l.url(a, w("url"))
		}
		if a := c.attrs["api_key"]; a != nil {
			k.APIKey = l.credential(a, w("api_key"))
		}
		if a := c.attrs["space"]; a != nil {
			if s, known, ok := l.str(a, w("space")); ok && known {
				if !spaceRE.MatchString(s) {
					l.errorf(a.Expr.Range().Ptr(), "Invalid space",
						"The space of %s must be a Kibana space id: lowercase letters, digits, \"_\" and \"-\"; got %q.", blockName(b), s)
				} else {
					k.Space = s
				}
			}
		}
		if a := c.attrs["ca_file"]; a != nil {
			if s, known, ok := l.str(a, w("ca_file")); ok && known {
				k.CAFile = s
			}
		}
		if a := c.attrs["insecure_skip_verify"]; a != nil {
			if v, known, ok := l.boolean(a, w("insecure_skip_verify")); ok && known {
				k.InsecureSkipVerify = v
				if v {
					l.warnf(a.Expr.Range().Ptr(), "TLS verification disabled",
						"%s does not verify the server certificate, so anyone on the network path can read the API key and change the answers. Give the CA bundle in ca_file instead.", blockName(b))
				}
			}
		}
		if a := c.attrs["timeout"]; a != nil {
			if d, known, ok := l.duration(a, w("timeout")); ok && known {
				k.Timeout = d
			}
		}
		if a := c.attrs["retry_timeout"]; a != nil {
			if d, known, ok := l.duration(a, w("retry_timeout")); ok && known {
				k.RetryTimeout = d
			}
		}
		if a := c.attrs["list_headroom"]; a != nil {
			if n, known, ok := l.integer(a, w("list_headroom"), 0, MaxListHeadroom); ok && known {
				k.ListHeadroom = n
			}
		}
	}
}

// ref resolves a reference like company.acme to a declared block label.
func (l *loader) ref(expr hcl.Expression, kind string, declared []string, w where) (string, bool) {
	example := kind + ".NAME"
	if len(declared) > 0 {
		example = kind + "." + declared[0]
	}
	tr, d := hcl.AbsTraversalForExpr(expr)
	if d.HasErrors() || len(tr) != 2 {
		l.errorf(expr.Range().Ptr(), "Invalid reference", "The %s must be a reference to a %s block, like %s.", w, kind, example)
		return "", false
	}
	attr, isAttr := tr[1].(hcl.TraverseAttr)
	if !isAttr {
		l.errorf(expr.Range().Ptr(), "Invalid reference", "The %s must be a reference to a %s block, like %s.", w, kind, example)
		return "", false
	}
	root := tr.RootName()
	if root != kind {
		what := fmt.Sprintf("%s is not a %s block", traversalString(tr), kind)
		switch root {
		case "company", "ioc_filter", "kibana", "blocklist":
			what = fmt.Sprintf("%s refers to a %s block", traversalString(tr), root)
		case "var":
			what = "variables cannot name blocks"
		}
		l.errorf(tr.SourceRange().Ptr(), "Invalid reference", "The %s must refer to a %s block, like %s, but %s.", w, kind, example, what)
		return "", false
	}
	for _, n := range declared {
		if n == attr.Name {
			return n, true
		}
	}
	l.errorf(tr.SourceRange().Ptr(), "Reference to undeclared "+kind,
		"There is no %s named %q.%s Declared %s blocks: %s.", kind, attr.Name, didYouMean(attr.Name, declared), kind, quotedList(declared))
	return "", false
}

func blockLabels(bs []*hclsyntax.Block) []string {
	seen := map[string]bool{}
	for _, b := range bs {
		seen[b.Labels[0]] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

func (l *loader) decodeFilters() {
	companies := blockLabels(l.blocks["company"])
	for _, b := range l.unique("ioc_filter") {
		f := &IOCFilter{
			Name: b.Labels[0], IOCTypes: []string{"hash"}, HashTypes: []provider.HashType{provider.SHA256},
			AdversaryTypes: append([]string(nil), DefaultAdversaryTypes...), Days: DefaultDays,
			Statuses: []string{"open"}, OnlyActive: true, DeclRange: b.DefRange(), IOCTypesRange: b.DefRange(),
		}
		l.cfg.Filters[f.Name] = f
		c := l.checkBody(b.Body, filterSchema, b.DefRange())
		w := func(a string) where { return where{a, blockName(b)} }
		if a := c.attrs["company"]; a != nil {
			if n, ok := l.ref(a.Expr, "company", companies, w("company")); ok {
				f.Company = l.cfg.Companies[n]
			}
		}
		if a := c.attrs["ioc_types"]; a != nil {
			f.IOCTypesRange = a.Expr.Range()
			if v, ok := l.enumList(a, w("ioc_types"), IOCTypes, false, nil); ok && v != nil {
				f.IOCTypes = v
			}
		}
		if a := c.attrs["hash_types"]; a != nil {
			if v, ok := l.enumList(a, w("hash_types"), HashTypeNames, false, nil); ok && v != nil {
				f.HashTypes = nil
				for _, h := range v {
					f.HashTypes = append(f.HashTypes, provider.HashType(h))
				}
			}
		}
		if a := c.attrs["adversary_types"]; a != nil {
			if v, ok := l.enumList(a, w("adversary_types"), AdversaryTypes, true, nil); ok && v != nil {
				f.AdversaryTypes = v
			}
		}
		if a := c.attrs["days"]; a != nil {
			if n, known, ok := l.integer(a, w("days"), 1, 30); ok && known {
				f.Days = n
			}
		}
		if a := c.attrs["statuses"]; a != nil {
			muted := func(s string) string {
				if strings.EqualFold(s, "muted") {
					return fmt.Sprintf("Muted incidents never count: lumuctl ignores them whatever the configuration says, so \"muted\" cannot be selected in %s. Use \"open\" and/or \"closed\".", w("statuses"))
				}
				return ""
			}
			if v, ok := l.enumList(a, w("statuses"), Statuses, false, muted); ok && v != nil {
				f.Statuses = v
			}
		}
		if a := c.attrs["labels"]; a != nil {
			f.Labels = l.labels(a, w("labels"))
		}
		if a := c.attrs["only_active"]; a != nil {
			if v, known, ok := l.boolean(a, w("only_active")); ok && known {
				f.OnlyActive = v
			}
		}
		if a := c.attrs["exclude"]; a != nil {
			f.Exclude = l.hashes(a, w("exclude"))
		}
	}
}

// labels decodes a list of Lumu label ids (whole numbers, no repeats).
func (l *loader) labels(a *hclsyntax.Attribute, w where) []int {
	v, sens, ok := l.value(a, cty.List(cty.Number), w)
	if !ok || !l.plain(a, sens, w) || !v.IsKnown() {
		return nil
	}
	tuple, _ := a.Expr.(*hclsyntax.TupleConsExpr)
	out := []int{}
	seen := map[int]hcl.Range{}
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, ev := it.Element()
		rng := a.Expr.Range()
		if tuple != nil && i < len(tuple.Exprs) {
			rng = tuple.Exprs[i].Range()
		}
		if ev.IsNull() || !ev.IsKnown() {
			continue
		}
		n, known, ok := l.checkInt(ev.AsBigFloat(), rng, w, 0, math.MaxInt32)
		if !ok || !known {
			continue
		}
		if prev, dup := seen[n]; dup {
			l.duplicateEntry(rng, prev, fmt.Sprint(n), w)
			continue
		}
		seen[n] = rng
		out = append(out, n)
	}
	return out
}

// hashes decodes exclude: md5/sha1/sha256 hex digests, lowercased.
func (l *loader) hashes(a *hclsyntax.Attribute, w where) []string {
	elems, known, ok := l.strList(a, w)
	if !ok || !known {
		return nil
	}
	out := []string{}
	seen := map[string]hcl.Range{}
	for _, e := range elems {
		if !e.known {
			continue
		}
		h := provider.NormalizeHash(e.s)
		if !provider.ValidHash(h) {
			l.errorf(e.rng.Ptr(), "Invalid hash",
				"%q in %s is not a file hash: give an MD5 (32), SHA-1 (40) or SHA-256 (64) hex digest, in any case.", e.s, w)
			continue
		}
		if prev, dup := seen[h]; dup {
			l.duplicateEntry(e.rng, prev, e.s, w)
			continue
		}
		seen[h] = e.rng
		out = append(out, h)
	}
	return out
}

func (l *loader) decodeBlocklists() {
	kibanas := blockLabels(l.blocks["kibana"])
	filters := blockLabels(l.blocks["ioc_filter"])
	warned := map[string]bool{}
	for _, b := range l.unique("blocklist") {
		bl := &Blocklist{
			Name: b.Labels[0], Global: true, OSTypes: append([]string(nil), provider.OSTypes...),
			MaxValuesPerItem: DefaultMaxValuesPerItem, DeclRange: b.DefRange(),
			PreventDestroyRange: b.DefRange(), GuardRange: b.DefRange(),
			Guard: Guard{MaxDeleteFraction: DefaultMaxDeleteFraction, MaxDeletes: DefaultMaxDeletes},
		}
		l.cfg.Blocklists[bl.Name] = bl
		c := l.checkBody(b.Body, blocklistSchema, b.DefRange())
		w := func(a string) where { return where{a, blockName(b)} }
		if a := c.attrs["kibana"]; a != nil {
			if n, ok := l.ref(a.Expr, "kibana", kibanas, w("kibana")); ok {
				bl.Kibana = l.cfg.Kibanas[n]
			}
		}
		if a := c.attrs["sources"]; a != nil {
			l.sources(bl, a, filters, w("sources"), warned)
		}
		if a := c.attrs["policies"]; a != nil {
			l.policies(bl, a, w("policies"))
		}
		if a := c.attrs["os_types"]; a != nil {
			if v, ok := l.enumList(a, w("os_types"), provider.OSTypes, false, nil); ok && v != nil {
				bl.OSTypes = v
			}
		}
		if a := c.attrs["max_values_per_item"]; a != nil {
			if n, known, ok := l.integer(a, w("max_values_per_item"), 1, provider.MaxValuesPerItem); ok && known {
				bl.MaxValuesPerItem = n
			}
		}
		if a := c.attrs["prevent_destroy"]; a != nil {
			bl.PreventDestroyRange = a.SrcRange
			if v, known, ok := l.boolean(a, w("prevent_destroy")); ok && known {
				bl.PreventDestroy = v
			}
		}
		if g := c.blocks["guard"]; g != nil {
			bl.GuardRange = g.DefRange()
			l.guard(&bl.Guard, g, blockName(b))
		}
	}
}

func (l *loader) sources(bl *Blocklist, a *hclsyntax.Attribute, filters []string, w where, warned map[string]bool) {
	exprs, d := hcl.ExprList(a.Expr)
	if d.HasErrors() {
		l.errorf(a.Expr.Range().Ptr(), "Invalid sources", "The %s must be a list of ioc_filter references, like [ioc_filter.malware_hashes].", w)
		return
	}
	if !l.nonEmpty(a, len(exprs), w) {
		return
	}
	seen := map[string]hcl.Range{}
	for _, e := range exprs {
		n, ok := l.ref(e, "ioc_filter", filters, w)
		if !ok {
			continue
		}
		if prev, dup := seen[n]; dup {
			l.duplicateEntry(e.Range(), prev, "ioc_filter."+n, w)
			continue
		}
		seen[n] = e.Range()
		f := l.cfg.Filters[n]
		if f == nil {
			continue
		}
		bl.Sources = append(bl.Sources, f)
		bl.SourceRanges = append(bl.SourceRanges, e.Range())
		var other []string
		hasHash := false
		for _, t := range f.IOCTypes {
			if t == "hash" {
				hasHash = true
			} else {
				other = append(other, t)
			}
		}
		if !hasHash {
			l.errorf(e.Range().Ptr(), "Source without hash IOCs",
				"The ioc_filter %q feeds blocklist %q, but its ioc_types (%s) lack \"hash\": Elastic Defend blocklists only block file hashes. Add \"hash\" to the ioc_types of ioc_filter %q (defined at %s), or remove it from sources.",
				n, bl.Name, quotedList(f.IOCTypes), n, f.DeclRange)
			continue
		}
		if len(other) > 0 && !warned[n] {
			warned[n] = true
			l.warnf(f.IOCTypesRange.Ptr(), "IOC types ignored by blocklist",
				"The ioc_filter %q feeds blocklist %q, which can only block file hashes: its %s IOC types are ignored. Remove them from ioc_types to silence this warning.",
				n, bl.Name, quotedList(other))
		}
	}
}

func (l *loader) policies(bl *Blocklist, a *hclsyntax.Attribute, w where) {
	elems, known, ok := l.strList(a, w)
	if !ok || !known {
		return
	}
	if !l.nonEmpty(a, len(elems), w) {
		return
	}
	all := false
	var ids []string
	seen := map[string]hcl.Range{}
	good := true
	for _, e := range elems {
		if !e.known {
			continue
		}
		id := strings.TrimPrefix(strings.TrimSpace(e.s), "policy:")
		if id == "all" {
			all = true
		} else if !policyIDRE.MatchString(id) {
			l.errorf(e.rng.Ptr(), "Invalid policy id",
				"%q in %s is not a Fleet package-policy id: use \"all\", or ids made of letters, digits, \"_\", \".\" and \"-\" (optionally spelled \"policy:<id>\").", e.s, w)
			good = false
			continue
		}
		if prev, dup := seen[id]; dup {
			l.duplicateEntry(e.rng, prev, e.s, w)
			good = false
			continue
		}
		seen[id] = e.rng
		if id != "all" {
			ids = append(ids, id)
		}
	}
	if all && len(ids) > 0 {
		l.errorf(a.Expr.Range().Ptr(), "Invalid policies",
			"The %s mix \"all\" with policy ids. Use [\"all\"] for a global blocklist, or list only the Fleet package-policy ids it applies to.", w)
		return
	}
	if good {
		bl.Global = all
		bl.PolicyIDs = ids
	}
}

func (l *loader) guard(g *Guard, b *hclsyntax.Block, owner string) {
	c := l.checkBody(b.Body, guardSchema, b.DefRange())
	w := func(a string) where { return where{a, "the guard of " + owner} }
	if a := c.attrs["max_delete_fraction"]; a != nil {
		v, sens, ok := l.value(a, cty.Number, w("max_delete_fraction"))
		if ok && l.plain(a, sens, w("max_delete_fraction")) && v.IsKnown() {
			f, _ := v.AsBigFloat().Float64()
			if f < 0 || f > 1 {
				l.errorf(a.Expr.Range().Ptr(), "Invalid value",
					"%s must be between 0 and 1 (a share of the blocklist's hashes, 0.25 = 25%%); got %s.", w("max_delete_fraction").lead(), v.AsBigFloat().Text('g', -1))
			} else {
				g.MaxDeleteFraction = f
			}
		}
	}
	if a := c.attrs["max_deletes"]; a != nil {
		if n, known, ok := l.integer(a, w("max_deletes"), 0, math.MaxInt32); ok && known {
			g.MaxDeletes = n
		}
	}
	if a := c.attrs["allow_empty_sources"]; a != nil {
		if v, known, ok := l.boolean(a, w("allow_empty_sources")); ok && known {
			g.AllowEmptySources = v
		}
	}
}
