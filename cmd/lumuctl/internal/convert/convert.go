// Package convert turns the original Lumu custom response integration's
// companies.yml and integrations.yml (SPEC section 11) into a lumuctl
// configuration: main.lumu.hcl and lumuctl.lumuvars.example.
//
// It reads YAML through go.yaml.in/yaml/v3's node API, so every warning and
// error names file:line:column. Keys never leave the input: each
// defender_key and ApiKey becomes a sensitive variable whose value the user
// supplies; no diagnostic quotes a scalar that could hold one.
package convert

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"go.yaml.in/yaml/v3"

	"github.com/lumuctl/lumuctl/engine/config"
)

// Input is the two YAML files: their names (as diagnostics show them) and
// contents.
type Input struct {
	CompaniesFile    string
	Companies        []byte
	IntegrationsFile string
	Integrations     []byte
}

// Output is what convert writes.
type Output struct {
	// Main is main.lumu.hcl, formatted.
	Main []byte
	// VarsExample is lumuctl.lumuvars.example: every variable, empty.
	VarsExample []byte
	// Variables are the sensitive variables to set, in file order.
	Variables []Variable
	// Blocklists is how many blocklists are active (not commented out).
	Blocklists int
}

// Variable is one key the user must supply.
type Variable struct {
	Name        string // HCL variable name
	Description string
}

// company is one entry of companies.yml.
type company struct {
	line         int
	label        string
	uuid         string
	name         string
	contactName  string
	contactEmail string
	hashType     string
	iocTypes     []string
	adversary    []string
	days         int
	keyVar       string
}

// integration is one entry of integrations.yml.
type integration struct {
	line     int
	company  *company
	name     string // app.name, optional
	days     int    // lumu.days; 0 = the company's
	hashType string // app.hash_type; "" = the company's
	ioc      []string
	hasIOC   bool
	clean    bool
	kibanaURL,
	apiKey string
	policies []string // ids, or ["all"]
}

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	policyIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	nonLabelRE = regexp.MustCompile(`[^a-z0-9]+`)
)

// Known fields of each mapping (SPEC section 11).
var (
	entryFields       = []string{"lumu", "app"}
	companyFields     = []string{"uuid", "name", "contact_name", "contact_email", "defender_key", "hash_type", "ioc_types", "adversary", "days"}
	integLumuFields   = []string{"uuid", "days"}
	appFields         = []string{"name", "clean", "ioc", "hash_type", "api"}
	apiFields         = []string{"KibanaUrl", "ApiKey", "Policies"}
	companyEntryField = []string{"lumu"}
)

// Convert reads both files and builds the configuration. On any error
// Output is nil; warnings come with a non-nil Output.
func Convert(in Input) (*Output, hcl.Diagnostics) {
	cr := &reader{file: in.CompaniesFile}
	companies := readCompanies(cr, in.Companies)
	ir := &reader{file: in.IntegrationsFile}
	integrations := readIntegrations(ir, in.Integrations, companies)
	diags := append(cr.diags, ir.diags...)
	if diags.HasErrors() {
		return nil, diags
	}
	out, more := render(in, companies, integrations)
	return out, append(diags, more...)
}

func readCompanies(r *reader, data []byte) []*company {
	root := r.parse(data)
	if root == nil {
		if !r.diags.HasErrors() {
			r.errorAt(0, 0, "No companies", "%s lists no company: it must be a list of \"- lumu: {uuid, defender_key, ...}\" entries.", r.file)
		}
		return nil
	}
	if root.Kind != yaml.SequenceNode {
		r.errorf(root, "Wrong type", "%s must be a list of \"- lumu: {...}\" entries, not %s.", r.file, kindName(root))
		return nil
	}
	var out []*company
	byUUID := map[string]*company{}
	for _, e := range root.Content {
		e = deref(e)
		entry, ok := r.mapping(e, "a companies.yml entry", companyEntryField...)
		if !ok {
			continue
		}
		lf, ok := entry["lumu"]
		if !ok {
			r.errorf(e, "Missing field", "This companies.yml entry has no \"lumu\" section.")
			continue
		}
		c := readCompany(r, lf)
		if c == nil {
			continue
		}
		key := strings.ToLower(c.uuid)
		if prev := byUUID[key]; prev != nil {
			r.errorAt(c.line, 0, "Duplicate company", "Company uuid %s is listed twice (first on line %d).", c.uuid, prev.line)
			continue
		}
		byUUID[key] = c
		out = append(out, c)
	}
	if len(out) == 0 && !r.diags.HasErrors() {
		r.errorf(root, "No companies", "%s lists no company.", r.file)
	}
	return out
}

func readCompany(r *reader, lf field) *company {
	m, ok := r.mapping(lf.val, "the lumu section of a company", companyFields...)
	if !ok {
		return nil
	}
	c := &company{line: lf.key.Line}
	good := true
	need := func(name string) (field, bool) {
		f, ok := m[name]
		if !ok || isNull(f.val) {
			r.errorf(lf.key, "Missing field", "This company has no %q; the original integration requires it.", name)
			good = false
			return field{}, false
		}
		return f, true
	}
	if f, ok := need("uuid"); ok {
		c.uuid, ok = r.str(f, "uuid")
		if ok && !uuidRE.MatchString(c.uuid) {
			r.errorf(f.val, "Invalid uuid", "The company uuid must be a UUID (8-4-4-4-12 hexadecimal digits), as Lumu shows it.")
			good = false
		}
		good = good && ok
	}
	if f, ok := need("defender_key"); ok {
		key, ok := r.str(f, "defender_key")
		if ok && strings.TrimSpace(key) == "" {
			r.errorf(f.val, "Empty key", "defender_key is empty.")
			ok = false
		}
		good = good && ok
	}
	for name, dst := range map[string]*string{"name": &c.name, "contact_name": &c.contactName, "contact_email": &c.contactEmail} {
		if f, ok := m[name]; ok {
			v, ok := r.str(f, name)
			*dst = strings.TrimSpace(v)
			good = good && ok
		}
	}
	if f, ok := need("hash_type"); ok {
		c.hashType, ok = r.hashType(f)
		good = good && ok
	}
	if f, ok := need("ioc_types"); ok {
		c.iocTypes, ok = r.enumList(f, "ioc_types", config.IOCTypes, strings.ToLower)
		good = good && ok
	}
	if f, ok := need("adversary"); ok {
		c.adversary, ok = r.enumList(f, "adversary", config.AdversaryTypes, canonicalAdversary)
		good = good && ok
	}
	if f, ok := need("days"); ok {
		c.days, ok = r.days(f)
		good = good && ok
	}
	if !good {
		return nil
	}
	return c
}

// hashType reads a hash_type field: sha256, sha1 or md5 in any case.
func (r *reader) hashType(f field) (string, bool) {
	v, ok := r.str(f, "hash_type")
	if !ok {
		return "", false
	}
	v = strings.ToLower(strings.TrimSpace(v))
	if !contains(config.HashTypeNames, v) {
		r.errorf(f.val, "Invalid hash_type", "hash_type must be one of %s.", strings.Join(config.HashTypeNames, ", "))
		return "", false
	}
	return v, true
}

// days reads a days field: 1..30 (SPEC section 2).
func (r *reader) days(f field) (int, bool) {
	d, ok := r.integer(f, "days")
	if !ok {
		return 0, false
	}
	if d < 1 || d > 30 {
		r.errorf(f.val, "Value out of range", "days must be between 1 and 30, got %d.", d)
		return 0, false
	}
	return d, true
}

// enumList reads a list whose values (after canon) must be in allowed;
// duplicates are dropped.
func (r *reader) enumList(f field, what string, allowed []string, canon func(string) string) ([]string, bool) {
	vals, ok := r.list(f, what)
	if !ok {
		return nil, false
	}
	var out []string
	for i, v := range vals {
		c := canon(strings.TrimSpace(v))
		if !contains(allowed, c) {
			r.errorf(deref(f.val.Content[i]), "Invalid value", "%s may hold only %s.", what, quoteList(allowed))
			ok = false
			continue
		}
		if !contains(out, c) {
			out = append(out, c)
		}
	}
	if ok && len(out) == 0 {
		r.errorf(f.val, "Empty list", "%s is empty; list at least one of %s.", what, quoteList(allowed))
		return nil, false
	}
	return out, ok
}

// canonicalAdversary maps an adversary type in any case to lumuctl's spelling.
func canonicalAdversary(s string) string {
	for _, a := range config.AdversaryTypes {
		if strings.EqualFold(a, s) {
			return a
		}
	}
	return s
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func readIntegrations(r *reader, data []byte, companies []*company) []*integration {
	root := r.parse(data)
	if root == nil {
		if !r.diags.HasErrors() {
			r.add(hcl.DiagWarning, 0, 0, "No integrations", "%s lists no integration: the configuration will have companies and filters but no blocklist.", r.file)
		}
		return nil
	}
	if root.Kind != yaml.SequenceNode {
		r.errorf(root, "Wrong type", "%s must be a list of \"- lumu: {...}\n  app: {...}\" entries, not %s.", r.file, kindName(root))
		return nil
	}
	byUUID := map[string]*company{}
	for _, c := range companies {
		byUUID[strings.ToLower(c.uuid)] = c
	}
	var out []*integration
	for _, e := range root.Content {
		e = deref(e)
		entry, ok := r.mapping(e, "an integrations.yml entry", entryFields...)
		if !ok {
			continue
		}
		if in := readIntegration(r, e, entry, byUUID, len(companies) > 0); in != nil {
			out = append(out, in)
		}
	}
	return out
}

func readIntegration(r *reader, e *yaml.Node, entry map[string]field, byUUID map[string]*company, haveCompanies bool) *integration {
	in := &integration{line: e.Line}
	good := true
	lf, ok := entry["lumu"]
	if !ok {
		r.errorf(e, "Missing field", "This integration has no \"lumu\" section.")
		return nil
	}
	lm, ok := r.mapping(lf.val, "the lumu section of an integration", integLumuFields...)
	if !ok {
		return nil
	}
	if f, ok := lm["uuid"]; !ok || isNull(f.val) {
		r.errorf(lf.key, "Missing field", "This integration has no \"uuid\": it must name a company of the companies file.")
		good = false
	} else if u, ok := r.str(f, "uuid"); ok {
		u = strings.TrimSpace(u)
		in.company = byUUID[strings.ToLower(u)]
		if !uuidRE.MatchString(u) {
			r.errorf(f.val, "Invalid uuid", "The integration's uuid must be a company UUID (8-4-4-4-12 hexadecimal digits).")
			good = false
		} else if in.company == nil && haveCompanies {
			r.errorf(f.val, "Unknown company", "No company of the companies file has uuid %s; add it there or fix the uuid.", u)
			good = false
		} else if in.company == nil {
			good = false
		}
	} else {
		good = false
	}
	if f, ok := lm["days"]; ok && !isNull(f.val) {
		in.days, ok = r.days(f)
		good = good && ok
	}
	af, ok := entry["app"]
	if !ok {
		r.errorf(e, "Missing field", "This integration has no \"app\" section (the Kibana to feed).")
		return nil
	}
	am, ok := r.mapping(af.val, "the app section of an integration", appFields...)
	if !ok {
		return nil
	}
	if f, ok := am["name"]; ok {
		v, ok := r.str(f, "app.name")
		in.name = strings.TrimSpace(v)
		good = good && ok
	}
	if f, ok := am["clean"]; ok && !isNull(f.val) {
		in.clean, ok = r.boolean(f, "clean")
		good = good && ok
	}
	if f, ok := am["ioc"]; ok && !isNull(f.val) {
		in.ioc, ok = r.enumList(f, "ioc", config.IOCTypes, strings.ToLower)
		in.hasIOC = true
		good = good && ok
	}
	if f, ok := am["hash_type"]; ok && !isNull(f.val) {
		in.hashType, ok = r.hashType(f)
		good = good && ok
	}
	apf, ok := am["api"]
	if !ok || isNull(apf.val) {
		r.errorf(af.key, "Missing field", "This integration has no \"api\" section (KibanaUrl, ApiKey, Policies).")
		return nil
	}
	api, ok := r.mapping(apf.val, "the api section of an integration", apiFields...)
	if !ok {
		return nil
	}
	if f, ok := api["KibanaUrl"]; !ok || isNull(f.val) {
		r.errorf(apf.key, "Missing field", "This integration has no \"KibanaUrl\".")
		good = false
	} else if v, ok := r.str(f, "KibanaUrl"); ok {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			r.errorf(f.val, "Invalid KibanaUrl", "KibanaUrl must be an http:// or https:// URL with a host and no user, query or fragment.")
			good = false
		} else {
			in.kibanaURL = strings.TrimRight(u.String(), "/")
		}
	} else {
		good = false
	}
	if f, ok := api["ApiKey"]; !ok || isNull(f.val) {
		r.errorf(apf.key, "Missing field", "This integration has no \"ApiKey\".")
		good = false
	} else if v, ok := r.str(f, "ApiKey"); ok && strings.TrimSpace(v) != "" {
		in.apiKey = v // compared only, to share one kibana block; never written
	} else {
		if ok {
			r.errorf(f.val, "Empty key", "ApiKey is empty.")
		}
		good = false
	}
	in.policies = []string{"all"}
	if f, ok := api["Policies"]; ok && !isNull(f.val) {
		ps, ok := r.policies(f)
		good = good && ok
		if ok && len(ps) > 0 {
			in.policies = ps
		}
	}
	if !good {
		return nil
	}
	return in
}

// policies reads Policies: "policy:all" anywhere (or an empty list) means
// every policy, since in the original the global policy takes precedence;
// otherwise the ids, with or without the "policy:" prefix.
func (r *reader) policies(f field) ([]string, bool) {
	vals, ok := r.list(f, "Policies")
	if !ok {
		return nil, false
	}
	var ids []string
	all := false
	for i, v := range vals {
		v = strings.TrimSpace(v)
		id := strings.TrimPrefix(v, "policy:")
		if strings.EqualFold(id, "all") {
			all = true
			continue
		}
		if !policyIDRE.MatchString(id) {
			r.errorf(deref(f.val.Content[i]), "Invalid policy", "Each of Policies must be \"policy:all\" or \"policy:<Fleet package policy id>\".")
			ok = false
			continue
		}
		if !contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if !ok {
		return nil, false
	}
	if all || len(ids) == 0 {
		if all && len(ids) > 0 {
			r.warnf(f.val, "Global policy wins", "Policies holds policy:all and specific ids; as in the original integration the global policy takes precedence, so the blocklist applies to all policies.")
		}
		return []string{"all"}, true
	}
	slices.Sort(ids)
	return ids, true
}

// label turns a free-form name into a block label ([a-z][a-z0-9_]{0,47}),
// at most max characters; "" when nothing usable is left.
func label(s string, max int) string {
	l := nonLabelRE.ReplaceAllString(strings.ToLower(s), "_")
	l = strings.Trim(l, "_")
	if l == "" {
		return ""
	}
	if l[0] < 'a' || l[0] > 'z' {
		l = "n" + l
	}
	if len(l) > max {
		l = strings.TrimRight(l[:max], "_")
	}
	return l
}

// unique returns l, or l_2, l_3, ... when taken; it records the result.
func unique(l string, taken map[string]bool) string {
	out := l
	for i := 2; taken[out]; i++ {
		out = fmt.Sprintf("%s_%d", l, i)
	}
	taken[out] = true
	return out
}
