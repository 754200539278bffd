package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// digestVersion changes whenever the canonical encoding below changes.
const digestVersion = 1

// Digest returns the sha256 (hex) of a canonical encoding of the evaluated
// configuration: settings, companies, filters, kibanas and blocklists with
// every value that affects behaviour. Credentials (defender_key, api_key,
// the backend url) and sensitive informational text are left out, so
// rotating a key keeps the digest; changing anything else changes it.
// Variables are not encoded themselves: their effect is, through the values
// they produced. TestDigestCoversEveryField lists each field of Config that
// is left out, and why.
func (c *Config) Digest() string {
	type company struct {
		UUID, DisplayName, ContactName, ContactEmail, APIURL string
		RequestsPerMinute                                    int
		RetryTimeout                                         int64
		RequestsPerDay                                       int
	}
	type filter struct {
		Company                                       string
		IOCTypes, HashTypes, AdversaryTypes, Statuses []string
		Days                                          int
		Labels                                        []int
		OnlyActive                                    bool
		Exclude                                       []string
	}
	type kibana struct {
		URL, Space, CAFile    string
		InsecureSkipVerify    bool
		Timeout, RetryTimeout int64
	}
	type blocklist struct {
		Kibana            string
		Sources           []string
		Global            bool
		PolicyIDs         []string
		OSTypes           []string
		MaxValuesPerItem  int
		PreventDestroy    bool
		MaxDeleteFraction float64
		MaxDeletes        int
		AllowEmptySources bool
	}
	text := func(t Text) string {
		if t.Sensitive() {
			return "(sensitive)"
		}
		return t.Reveal()
	}
	name := func(n string, ok bool) string {
		if !ok {
			return ""
		}
		return n
	}
	type backend struct{ Type, Schema string }
	doc := struct {
		Version  int
		Settings [3]string
		// Backend is omitted when nil, so the digest of a configuration
		// without a backend block is what it was before backends existed.
		Backend    *backend `json:",omitempty"`
		Companies  map[string]company
		Filters    map[string]filter
		Kibanas    map[string]kibana
		Blocklists map[string]blocklist
	}{
		Version:    digestVersion,
		Settings:   [3]string{c.Settings.StatePath, c.Settings.CachePath, c.Settings.Namespace},
		Companies:  map[string]company{},
		Filters:    map[string]filter{},
		Kibanas:    map[string]kibana{},
		Blocklists: map[string]blocklist{},
	}
	if b := c.Settings.Backend; b != nil {
		doc.Backend = &backend{b.Type, b.Schema}
	}
	for n, co := range c.Companies {
		doc.Companies[n] = company{co.UUID, text(co.DisplayName), text(co.ContactName), text(co.ContactEmail), co.APIURL, co.RequestsPerMinute, int64(co.RetryTimeout), co.RequestsPerDay}
	}
	for n, f := range c.Filters {
		hts := make([]string, len(f.HashTypes))
		for i, h := range f.HashTypes {
			hts[i] = string(h)
		}
		doc.Filters[n] = filter{
			Company: name(companyName(f.Company)), IOCTypes: f.IOCTypes, HashTypes: hts, AdversaryTypes: f.AdversaryTypes,
			Statuses: f.Statuses, Days: f.Days, Labels: f.Labels, OnlyActive: f.OnlyActive, Exclude: f.Exclude,
		}
	}
	for n, k := range c.Kibanas {
		doc.Kibanas[n] = kibana{k.URL, k.Space, k.CAFile, k.InsecureSkipVerify, int64(k.Timeout), int64(k.RetryTimeout)}
	}
	for n, b := range c.Blocklists {
		var srcs []string
		for _, s := range b.Sources {
			srcs = append(srcs, s.Name)
		}
		kn := ""
		if b.Kibana != nil {
			kn = b.Kibana.Name
		}
		doc.Blocklists[n] = blocklist{
			Kibana: kn, Sources: srcs, Global: b.Global, PolicyIDs: b.PolicyIDs, OSTypes: b.OSTypes,
			MaxValuesPerItem: b.MaxValuesPerItem, PreventDestroy: b.PreventDestroy,
			MaxDeleteFraction: b.Guard.MaxDeleteFraction, MaxDeletes: b.Guard.MaxDeletes, AllowEmptySources: b.Guard.AllowEmptySources,
		}
	}
	// encoding/json sorts map keys and struct fields keep their order, so
	// the encoding is deterministic.
	data, err := json.Marshal(doc)
	if err != nil {
		panic("config: digest encoding: " + err.Error()) // only plain types above
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func companyName(c *Company) (string, bool) {
	if c == nil {
		return "", false
	}
	return c.Name, true
}
