package convert

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Output file names.
const (
	MainFile        = "main.lumu.hcl"
	VarsExampleFile = "lumuctl.lumuvars.example"
)

// kibanaOut is one distinct (KibanaUrl, ApiKey) pair.
type kibanaOut struct {
	label, url, keyVar string
	active             bool
}

// filterOut is an ioc_filter written for integrations whose days or
// hash_type differ from their company's.
type filterOut struct {
	label    string
	company  *company
	days     int
	hashType string
	active   bool
}

type blocklistOut struct {
	in     *integration
	label  string
	kibana *kibanaOut
	filter string     // ioc_filter label
	extra  *filterOut // non-nil when filter is an integration-specific one
	why    string     // non-empty: written commented out, for this reason
}

func render(in Input, companies []*company, integrations []*integration) (*Output, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ir := &reader{file: in.IntegrationsFile}
	taken := map[string]bool{} // company labels (also ioc_filter labels)
	for _, c := range companies {
		l := label(c.name, 24)
		if l == "" {
			l = "company_" + strings.ToLower(c.uuid[:8])
		}
		c.label = unique(l, taken)
		c.keyVar = "lumu_key_" + c.label
	}

	kibanas := map[string]*kibanaOut{}
	var kibanaOrder []*kibanaOut
	kibanaTaken := map[string]bool{}
	extras := map[string]*filterOut{}
	var extraOrder []*filterOut
	blTaken := map[string]bool{}
	var bls []*blocklistOut
	// Labels of blocklists come from app.name, else the company label;
	// count company uses first so a company fed into two Kibanas gets
	// <company>_<kibana> for both instead of acme and acme_2.
	perCompany := map[*company]int{}
	for _, it := range integrations {
		if it.name == "" {
			perCompany[it.company]++
		}
	}
	for _, it := range integrations {
		c := it.company
		key := it.kibanaURL + "\x00" + it.apiKey
		k := kibanas[key]
		if k == nil {
			k = &kibanaOut{url: it.kibanaURL, label: unique(kibanaLabel(it.kibanaURL), kibanaTaken)}
			k.keyVar = "kibana_key_" + k.label
			kibanas[key] = k
			kibanaOrder = append(kibanaOrder, k)
		}
		b := &blocklistOut{in: it, kibana: k, filter: c.label}
		days, hashType := c.days, c.hashType
		if it.days != 0 {
			days = it.days
		}
		if it.hashType != "" {
			hashType = it.hashType
		}
		if days != c.days || hashType != c.hashType {
			fl := fmt.Sprintf("%s_%s_%dd", c.label, hashType, days)
			f := extras[fl]
			if f == nil {
				f = &filterOut{label: fl, company: c, days: days, hashType: hashType}
				extras[fl] = f
				extraOrder = append(extraOrder, f)
			}
			b.filter, b.extra = fl, f
		}
		switch {
		case it.clean:
			b.why = "clean: true"
			ir.add(hcl.DiagWarning, it.line, 1, "Cleaning integration written commented out",
				"This integration has clean: true: in the original it removes its entries instead of feeding any. Its blocklist is written commented out; in lumuctl, cleaning is \"lumuctl destroy\".")
		case it.hasIOC && !contains(it.ioc, "hash"):
			b.why = "ioc lists no hash"
			ir.add(hcl.DiagWarning, it.line, 1, "Integration without hashes written commented out",
				"This integration's ioc (%s) has no \"hash\": an Elastic Defend blocklist blocks only hashes, so it fed nothing. Its blocklist is written commented out.", strings.Join(it.ioc, ", "))
		case !contains(c.iocTypes, "hash"):
			b.why = "company ioc_types lists no hash"
			ir.add(hcl.DiagWarning, it.line, 1, "Integration without hashes written commented out",
				"Company %s collects ioc_types %s, without \"hash\", so this integration fed nothing. Its blocklist is written commented out; add \"hash\" to ioc_types of ioc_filter.%s to use it.", c.label, strings.Join(c.iocTypes, ", "), b.filter)
		default:
			k.active = true
			if b.extra != nil {
				b.extra.active = true
			}
		}
		l := label(it.name, 48)
		if l == "" {
			l = c.label
			if perCompany[c] > 1 {
				l = c.label + "_" + k.label
			}
		}
		b.label = unique(l, blTaken)
		bls = append(bls, b)
	}

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# Converted by \"lumuctl convert\" from %s and %s.\n", baseName(in.CompaniesFile), baseName(in.IntegrationsFile))
	buf.WriteString("# Keys are variables: set them in lumuctl.lumuvars (see lumuctl.lumuvars.example)\n# or as LUMUCTL_VAR_<name> environment variables.\n\n")

	out := &Output{}
	for _, c := range companies {
		out.Variables = append(out.Variables, Variable{Name: c.keyVar, Description: "Lumu Defender API key of company " + displayName(c)})
	}
	for _, k := range kibanaOrder {
		out.Variables = append(out.Variables, Variable{Name: k.keyVar, Description: "Kibana API key for " + k.url})
	}
	activeVar := map[string]bool{}
	for _, c := range companies {
		activeVar[c.keyVar] = true
	}
	for _, k := range kibanaOrder {
		activeVar[k.keyVar] = k.active
	}
	for _, v := range out.Variables {
		writeBlock(&buf, !activeVar[v.Name], variableBlock(v))
	}
	for _, c := range companies {
		fmt.Fprintf(&buf, "# From %s line %d.\n", baseName(in.CompaniesFile), c.line)
		writeBlock(&buf, false, companyBlock(c))
		writeBlock(&buf, false, filterBlock(c.label, c, c.days, c.hashType))
	}
	for _, f := range extraOrder {
		writeBlock(&buf, !f.active, filterBlock(f.label, f.company, f.days, f.hashType))
	}
	for _, k := range kibanaOrder {
		writeBlock(&buf, !k.active, kibanaBlock(k))
	}
	for _, b := range bls {
		fmt.Fprintf(&buf, "# From %s line %d (company %s).\n", baseName(in.IntegrationsFile), b.in.line, b.in.company.label)
		if b.why != "" {
			fmt.Fprintf(&buf, "# Commented out: %s.\n", b.why)
		} else {
			out.Blocklists++
		}
		writeBlock(&buf, b.why != "", blocklistBlock(b))
	}
	out.Main = hclwrite.Format(bytes.TrimRight(buf.Bytes(), "\n"))
	out.Main = append(out.Main, '\n')

	var vb bytes.Buffer
	vb.WriteString("# Values for the variables of main.lumu.hcl. Copy this file to lumuctl.lumuvars\n")
	vb.WriteString("# (mode 0600, kept out of version control) and fill in the keys, or export\n")
	vb.WriteString("# LUMUCTL_VAR_<name> instead.\n")
	for _, v := range out.Variables {
		fmt.Fprintf(&vb, "\n# %s\n", v.Description)
		if !activeVar[v.Name] {
			vb.WriteString("# (only used by a commented-out block)\n# ")
		}
		fmt.Fprintf(&vb, "%s = \"\"\n", v.Name)
	}
	out.VarsExample = hclwrite.Format(vb.Bytes())
	diags = append(diags, ir.diags...)
	return out, diags
}

// kibanaLabel derives a kibana block label from the URL's host:
// "https://prod.kb.example.com:9243" gives "prod".
func kibanaLabel(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "kibana"
	}
	host := u.Hostname()
	first, _, _ := strings.Cut(strings.ToLower(host), ".")
	if first == "" || first[0] < 'a' || first[0] > 'z' || first == "localhost" {
		return "kibana"
	}
	if l := label(first, 24); l != "" {
		return l
	}
	return "kibana"
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func displayName(c *company) string {
	if c.name != "" {
		return fmt.Sprintf("%s (%s)", c.name, c.uuid)
	}
	return c.uuid
}

// writeBlock appends one block, commented out with "# " when disabled.
func writeBlock(buf *bytes.Buffer, disabled bool, f *hclwrite.File) {
	text := hclwrite.Format(f.Bytes())
	if !disabled {
		buf.Write(bytes.TrimRight(text, "\n"))
		buf.WriteString("\n\n")
		return
	}
	for _, line := range strings.Split(strings.TrimRight(string(text), "\n"), "\n") {
		if line == "" {
			buf.WriteString("#\n")
			continue
		}
		buf.WriteString("# " + line + "\n")
	}
	buf.WriteString("\n")
}

func newBlock(kind, name string) (*hclwrite.File, *hclwrite.Body) {
	f := hclwrite.NewEmptyFile()
	b := f.Body().AppendNewBlock(kind, []string{name})
	return f, b.Body()
}

func ref(parts ...string) hcl.Traversal {
	t := hcl.Traversal{hcl.TraverseRoot{Name: parts[0]}}
	for _, p := range parts[1:] {
		t = append(t, hcl.TraverseAttr{Name: p})
	}
	return t
}

func strList(vals []string) cty.Value {
	l := make([]cty.Value, len(vals))
	for i, v := range vals {
		l[i] = cty.StringVal(v)
	}
	return cty.ListVal(l)
}

func variableBlock(v Variable) *hclwrite.File {
	f, b := newBlock("variable", v.Name)
	b.SetAttributeTraversal("type", ref("string"))
	b.SetAttributeValue("sensitive", cty.True)
	b.SetAttributeValue("description", cty.StringVal(v.Description))
	return f
}

func companyBlock(c *company) *hclwrite.File {
	f, b := newBlock("company", c.label)
	b.SetAttributeValue("uuid", cty.StringVal(c.uuid))
	b.SetAttributeTraversal("defender_key", ref("var", c.keyVar))
	if c.name != "" {
		b.SetAttributeValue("name", cty.StringVal(c.name))
	}
	if c.contactName != "" {
		b.SetAttributeValue("contact_name", cty.StringVal(c.contactName))
	}
	if c.contactEmail != "" {
		b.SetAttributeValue("contact_email", cty.StringVal(c.contactEmail))
	}
	return f
}

func filterBlock(name string, c *company, days int, hashType string) *hclwrite.File {
	f, b := newBlock("ioc_filter", name)
	iocTypes := c.iocTypes
	if contains(iocTypes, "hash") && len(iocTypes) > 1 {
		// A blocklist takes only hashes; lumuctl would warn about the others.
		b.AppendUnstructuredTokens(commentTokens(fmt.Sprintf("companies.yml ioc_types: %s; a blocklist can only block hashes.", strings.Join(iocTypes, ", "))))
		iocTypes = []string{"hash"}
	}
	b.SetAttributeTraversal("company", ref("company", c.label))
	b.SetAttributeValue("ioc_types", strList(iocTypes))
	b.SetAttributeValue("hash_types", strList([]string{hashType}))
	b.SetAttributeValue("adversary_types", strList(c.adversary))
	b.SetAttributeValue("days", cty.NumberIntVal(int64(days)))
	return f
}

func kibanaBlock(k *kibanaOut) *hclwrite.File {
	f, b := newBlock("kibana", k.label)
	b.SetAttributeValue("url", cty.StringVal(k.url))
	b.SetAttributeTraversal("api_key", ref("var", k.keyVar))
	return f
}

func blocklistBlock(bl *blocklistOut) *hclwrite.File {
	f, b := newBlock("blocklist", bl.label)
	b.SetAttributeTraversal("kibana", ref("kibana", bl.kibana.label))
	b.SetAttributeRaw("sources", hclwrite.TokensForTuple([]hclwrite.Tokens{hclwrite.TokensForTraversal(ref("ioc_filter", bl.filter))}))
	b.SetAttributeValue("policies", strList(bl.in.policies))
	return f
}

func commentTokens(text string) hclwrite.Tokens {
	return hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte("# " + text + "\n")}}
}
