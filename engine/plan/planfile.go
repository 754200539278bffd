package plan

import (
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// The plan-file form. A Plan in memory is what views render and apply
// executes; on disk it is encoded compactly (Terraform's plans vs
// plans/planfile): every distinct value (hash) is written once, in a value
// table, and item bodies, added/removed/moved lists, drift and provenance
// refer to it by index, as runs of consecutive indexes. md5, sha1 and
// sha256 values are stored as raw bytes (base64 in the JSON), other values
// (text found in Kibana) as strings. The body is then gzip-compressed (see
// Encode).
//
// The encoding is canonical: a Plan has exactly one body, so Decode
// re-encodes what it read and refuses anything else, and the plan digest
// is the sha256 of the body.

// fileBody is the plan without its digest and signature.
type fileBody struct {
	ToolVersion     string          `json:"tool_version"`
	CreatedAt       time.Time       `json:"created_at"`
	Mode            Mode            `json:"mode"`
	Targets         []string        `json:"targets,omitempty"`
	AllowMassDelete bool            `json:"allow_mass_delete"`
	Namespace       string          `json:"namespace"`
	Bindings        Bindings        `json:"bindings"`
	Kibanas         []KibanaPlan    `json:"kibanas"`
	Summary         Summary         `json:"summary"`
	Warnings        []Note          `json:"warnings,omitempty"`
	Values          fileValues      `json:"values"`
	Blocklists      []fileBlocklist `json:"blocklists"`
}

// fileValues is the value table. Indexes run over SHA256 (32 bytes each),
// then SHA1 (20), then MD5 (16), then Other, each in order of first use.
type fileValues struct {
	SHA256 []byte   `json:"sha256,omitempty"`
	SHA1   []byte   `json:"sha1,omitempty"`
	MD5    []byte   `json:"md5,omitempty"`
	Other  []string `json:"other,omitempty"`
}

// runs is a list of indexes written as [start, length] pairs, flattened.
type runs []int

type fileBlocklist struct {
	Name            string       `json:"name"`
	Kibana          string       `json:"kibana"`
	Orphan          bool         `json:"orphan,omitempty"`
	PolicyIDs       []string     `json:"policy_ids,omitempty"`
	Sources         []string     `json:"sources,omitempty"`
	Drift           []fileDrift  `json:"drift,omitempty"`
	Changes         []fileChange `json:"changes,omitempty"`
	Unchanged       int          `json:"unchanged_items"`
	HashesBefore    int          `json:"hashes_before"`
	HashesAdded     int          `json:"hashes_added"`
	HashesRemoved   int          `json:"hashes_removed"`
	HashesAfter     int          `json:"hashes_after"`
	Provenance      fileProv     `json:"provenance"`
	PriorProvenance fileProv     `json:"prior_provenance"`
}

type fileDrift struct {
	ItemID  string   `json:"item_id"`
	What    []string `json:"what"`
	Added   runs     `json:"added,omitempty"`
	Removed runs     `json:"removed,omitempty"`
}

type fileChange struct {
	Action        provider.Action   `json:"action"`
	ItemID        string            `json:"item_id"`
	OS            string            `json:"os"`
	HashType      provider.HashType `json:"hash_type"`
	ID            string            `json:"id,omitempty"`
	ExpectVersion string            `json:"expect_version,omitempty"`
	After         *fileItem         `json:"after,omitempty"`
	Added         runs              `json:"added,omitempty"`
	Removed       runs              `json:"removed,omitempty"`
	MovedIn       runs              `json:"moved_in,omitempty"`
	Reasons       []string          `json:"reasons,omitempty"`
	// Diff carries an update's values as a change of the live item (the
	// after body's one entry then lists none); see ValueDiff.
	Diff *fileDiff `json:"diff,omitempty"`
}

// fileDiff is a ValueDiff: the values dropped and added as runs, the
// count after and the sha256 of the whole body.
type fileDiff struct {
	Drop  runs   `json:"drop,omitempty"`
	Add   runs   `json:"add,omitempty"`
	Count int    `json:"count"`
	Sum   string `json:"sha256"`
}

// fileItem is provider.Item with each entry's values as runs.
type fileItem struct {
	ID          string      `json:"id,omitempty"`
	ItemID      string      `json:"item_id"`
	Version     string      `json:"_version,omitempty"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	OSTypes     []string    `json:"os_types"`
	Tags        []string    `json:"tags"`
	Entries     []fileEntry `json:"entries"`
	Type        string      `json:"type,omitempty"`
	UpdatedAt   time.Time   `json:"updated_at"`
	UpdatedBy   string      `json:"updated_by,omitempty"`
}

type fileEntry struct {
	Field    string `json:"field"`
	Type     string `json:"type"`
	Operator string `json:"operator"`
	Values   runs   `json:"values"`
}

// fileProv is a Provenance: the incident table as is, the hashes as runs
// of ascending value indexes, and their incident index lists grouped:
// each group is [n, i1, i2, ...], the next n hashes' list.
type fileProv struct {
	Incidents []provider.IncidentRef `json:"incidents,omitempty"`
	Hashes    runs                   `json:"hashes,omitempty"`
	Groups    [][]int                `json:"groups,omitempty"`
}

// valueTable interns values while encoding.
type valueTable struct {
	// index maps a value to kind<<kindShift | its index within its kind
	// (kinds: 0 sha256, 1 sha1, 2 md5, 3 other).
	index map[string]int
	lists [4][]string
	off   [4]int // first global index of each kind, once interning is done
}

const kindShift = 40

func newValueTable() *valueTable {
	return &valueTable{index: map[string]int{}}
}

// rawTypes are the hash kinds of the table, in order; rawLens their byte
// lengths.
var (
	rawTypes = [3]provider.HashType{provider.SHA256, provider.SHA1, provider.MD5}
	rawLens  = [3]int{32, 20, 16}
)

func valueKind(v string) int {
	for k, t := range rawTypes {
		if t.Valid(v) {
			return k
		}
	}
	return 3
}

func (t *valueTable) add(v string) {
	if _, ok := t.index[v]; ok {
		return
	}
	k := valueKind(v)
	t.index[v] = k<<kindShift | len(t.lists[k])
	t.lists[k] = append(t.lists[k], v)
}

// done ends interning: global indexes are known from now on.
func (t *valueTable) done() {
	for k := 1; k < 4; k++ {
		t.off[k] = t.off[k-1] + len(t.lists[k-1])
	}
}

// ref returns the global index of an interned value (after done).
func (t *valueTable) ref(v string) int {
	x := t.index[v]
	return t.off[x>>kindShift] + x&(1<<kindShift-1)
}

func (t *valueTable) runs(vs []string) runs {
	if len(vs) == 0 {
		return nil
	}
	var out runs
	for _, v := range vs {
		i := t.ref(v)
		if n := len(out); n > 0 && out[n-2]+out[n-1] == i {
			out[n-1]++
			continue
		}
		out = append(out, i, 1)
	}
	return out
}

func (t *valueTable) file() fileValues {
	var fv fileValues
	raw := [3]*[]byte{&fv.SHA256, &fv.SHA1, &fv.MD5}
	for k, n := range rawLens {
		if len(t.lists[k]) == 0 {
			continue
		}
		b := make([]byte, len(t.lists[k])*n)
		for i, v := range t.lists[k] {
			hex.Decode(b[i*n:(i+1)*n], []byte(v)) // valid: valueKind checked it
		}
		*raw[k] = b
	}
	fv.Other = t.lists[3]
	return fv
}

// toFile encodes p (without digest and signature) in its file form.
func toFile(p *Plan) *fileBody {
	t := newValueTable()
	// Intern in the order values are first met, so that item bodies, and
	// the added lists that follow them, are long runs.
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			if c.SavedAsDiff() {
				for _, l := range [][]string{c.Diff.Add, c.Diff.Drop} {
					for _, v := range l {
						t.add(v)
					}
				}
			} else if c.After != nil {
				for _, e := range c.After.Entries {
					for _, v := range e.Value {
						t.add(v)
					}
				}
			}
			for _, l := range [][]string{c.Added, c.Removed, c.MovedIn} {
				for _, v := range l {
					t.add(v)
				}
			}
		}
		for _, d := range bp.Drift {
			for _, l := range [][]string{d.Added, d.Removed} {
				for _, v := range l {
					t.add(v)
				}
			}
		}
		for _, prov := range []*Provenance{&bp.Provenance, &bp.PriorProvenance} {
			for _, h := range slices.Sorted(maps.Keys(prov.Hashes)) {
				t.add(h)
			}
		}
	}
	t.done()
	fb := &fileBody{
		ToolVersion: p.ToolVersion, CreatedAt: p.CreatedAt, Mode: p.Mode, Targets: p.Targets,
		AllowMassDelete: p.AllowMassDelete, Namespace: p.Namespace, Bindings: p.Bindings,
		Kibanas: p.Kibanas, Summary: p.Summary, Warnings: p.Warnings,
		Values: t.file(), Blocklists: make([]fileBlocklist, 0, len(p.Blocklists)),
	}
	for _, bp := range p.Blocklists {
		fbl := fileBlocklist{
			Name: bp.Name, Kibana: bp.Kibana, Orphan: bp.Orphan, PolicyIDs: bp.PolicyIDs, Sources: bp.Sources,
			Unchanged: bp.Unchanged, HashesBefore: bp.HashesBefore, HashesAdded: bp.HashesAdded,
			HashesRemoved: bp.HashesRemoved, HashesAfter: bp.HashesAfter,
			Provenance: t.prov(bp.Provenance), PriorProvenance: t.prov(bp.PriorProvenance),
		}
		for _, d := range bp.Drift {
			fbl.Drift = append(fbl.Drift, fileDrift{ItemID: d.ItemID, What: d.What, Added: t.runs(d.Added), Removed: t.runs(d.Removed)})
		}
		for _, c := range bp.Changes {
			fc := fileChange{Action: c.Action, ItemID: c.ItemID, OS: c.OS, HashType: c.HashType, ID: c.ID,
				ExpectVersion: c.ExpectVersion, Added: t.runs(c.Added), Removed: t.runs(c.Removed),
				MovedIn: t.runs(c.MovedIn), Reasons: c.Reasons}
			if it := c.After; it != nil {
				fi := &fileItem{ID: it.ID, ItemID: it.ItemID, Version: it.Version, Name: it.Name, Description: it.Description,
					OSTypes: it.OSTypes, Tags: it.Tags, Type: it.Type, UpdatedAt: it.UpdatedAt, UpdatedBy: it.UpdatedBy,
					Entries: make([]fileEntry, 0, len(it.Entries))}
				diff := c.SavedAsDiff()
				for _, e := range it.Entries {
					vr := runs{}
					if !diff {
						if r := t.runs(e.Value); r != nil {
							vr = r
						}
					}
					fi.Entries = append(fi.Entries, fileEntry{Field: e.Field, Type: e.Type, Operator: e.Operator, Values: vr})
				}
				fc.After = fi
				if diff {
					fc.Diff = &fileDiff{Drop: t.runs(c.Diff.Drop), Add: t.runs(c.Diff.Add), Count: c.Diff.Count, Sum: c.BodySum()}
				}
			}
			fbl.Changes = append(fbl.Changes, fc)
		}
		fb.Blocklists = append(fb.Blocklists, fbl)
	}
	return fb
}

// prov encodes a provenance: hashes by ascending value index.
func (t *valueTable) prov(p Provenance) fileProv {
	fp := fileProv{Incidents: p.Incidents}
	type entry struct {
		ref int
		h   string
	}
	es := make([]entry, 0, len(p.Hashes))
	for h := range p.Hashes {
		es = append(es, entry{t.ref(h), h})
	}
	slices.SortFunc(es, func(a, b entry) int { return a.ref - b.ref })
	hs := make([]string, len(es))
	for i, e := range es {
		hs[i] = e.h
	}
	fp.Hashes = t.runs(hs)
	for _, h := range hs {
		list := p.Hashes[h]
		if n := len(fp.Groups); n > 0 && slices.Equal(fp.Groups[n-1][1:], list) {
			fp.Groups[n-1][0]++
			continue
		}
		fp.Groups = append(fp.Groups, append([]int{1}, list...))
	}
	return fp
}

// fromFile decodes a body into a Plan, checking every index. It does not
// check the plan's invariants (check does) nor that the body is canonical
// (Decode re-encodes it).
func fromFile(fb *fileBody) (*Plan, error) {
	values, err := fb.Values.decode()
	if err != nil {
		return nil, err
	}
	p := &Plan{
		FormatVersion: FormatVersion, ToolVersion: fb.ToolVersion, CreatedAt: fb.CreatedAt, Mode: fb.Mode,
		Targets: fb.Targets, AllowMassDelete: fb.AllowMassDelete, Namespace: fb.Namespace, Bindings: fb.Bindings,
		Kibanas: fb.Kibanas, Summary: fb.Summary, Warnings: fb.Warnings,
	}
	list := func(r runs, what string) ([]string, error) {
		out, err := r.expand(values, what)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	for _, fbl := range fb.Blocklists {
		bp := BlocklistPlan{Name: fbl.Name, Kibana: fbl.Kibana, Orphan: fbl.Orphan, PolicyIDs: fbl.PolicyIDs, Sources: fbl.Sources,
			Unchanged: fbl.Unchanged, HashesBefore: fbl.HashesBefore, HashesAdded: fbl.HashesAdded,
			HashesRemoved: fbl.HashesRemoved, HashesAfter: fbl.HashesAfter}
		where := fmt.Sprintf("blocklist %s", quoteTrunc(fbl.Name))
		for _, fd := range fbl.Drift {
			d := Drift{ItemID: fd.ItemID, What: fd.What}
			if d.Added, err = list(fd.Added, where+" drift"); err != nil {
				return nil, err
			}
			if d.Removed, err = list(fd.Removed, where+" drift"); err != nil {
				return nil, err
			}
			bp.Drift = append(bp.Drift, d)
		}
		for _, fc := range fbl.Changes {
			c := ItemChange{Action: fc.Action, ItemID: fc.ItemID, OS: fc.OS, HashType: fc.HashType, ID: fc.ID,
				ExpectVersion: fc.ExpectVersion, Reasons: fc.Reasons}
			cw := fmt.Sprintf("%s change %s", where, quoteTrunc(fc.ItemID))
			if c.Added, err = list(fc.Added, cw); err != nil {
				return nil, err
			}
			if c.Removed, err = list(fc.Removed, cw); err != nil {
				return nil, err
			}
			if c.MovedIn, err = list(fc.MovedIn, cw); err != nil {
				return nil, err
			}
			if fi := fc.After; fi != nil {
				it := &provider.Item{ID: fi.ID, ItemID: fi.ItemID, Version: fi.Version, Name: fi.Name, Description: fi.Description,
					OSTypes: fi.OSTypes, Tags: fi.Tags, Type: fi.Type, UpdatedAt: fi.UpdatedAt, UpdatedBy: fi.UpdatedBy}
				if fi.Entries != nil {
					it.Entries = make([]provider.Entry, 0, len(fi.Entries))
				}
				for _, fe := range fi.Entries {
					vs, err := list(fe.Values, cw)
					if err != nil {
						return nil, err
					}
					if vs == nil {
						vs = []string{}
					}
					it.Entries = append(it.Entries, provider.Entry{Field: fe.Field, Type: fe.Type, Operator: fe.Operator, Value: vs})
				}
				c.After = it
			}
			if fd := fc.Diff; fd != nil {
				if fc.Action != provider.Update || fc.After == nil || len(fc.After.Entries) != 1 || len(fc.After.Entries[0].Values) != 0 {
					return nil, fmt.Errorf("%s: a value change must be an update whose body has one entry listing no values", cw)
				}
				c.After.Entries[0].Value = nil
				d := &ValueDiff{Count: fd.Count, Sum: fd.Sum}
				if d.Drop, err = list(fd.Drop, cw); err != nil {
					return nil, err
				}
				if d.Add, err = list(fd.Add, cw); err != nil {
					return nil, err
				}
				c.Diff = d
			}
			bp.Changes = append(bp.Changes, c)
		}
		if bp.Provenance, err = fbl.Provenance.decode(values, where+" provenance"); err != nil {
			return nil, err
		}
		if bp.PriorProvenance, err = fbl.PriorProvenance.decode(values, where+" prior provenance"); err != nil {
			return nil, err
		}
		p.Blocklists = append(p.Blocklists, bp)
	}
	return p, nil
}

func (fv fileValues) decode() ([]string, error) {
	var out []string
	for k, raw := range [][]byte{fv.SHA256, fv.SHA1, fv.MD5} {
		n := rawLens[k]
		if len(raw)%n != 0 {
			return nil, fmt.Errorf("value table: %d bytes of %d-byte hashes", len(raw), n)
		}
		for i := 0; i < len(raw); i += n {
			out = append(out, hex.EncodeToString(raw[i:i+n]))
		}
	}
	for _, v := range fv.Other {
		if valueKind(v) != 3 {
			return nil, fmt.Errorf("value table: hash %s stored as text", quoteTrunc(v))
		}
	}
	return append(out, fv.Other...), nil
}

// expand resolves runs against the value table. It does not refuse a
// repeated index: fileProv.decode and check refuse repeats where they
// matter (provenance hashes, item bodies).
func (r runs) expand(values []string, where string) ([]string, error) {
	if len(r) == 0 {
		return nil, nil
	}
	if len(r)%2 != 0 {
		return nil, fmt.Errorf("%s: odd run list", where)
	}
	total := 0
	for i := 0; i < len(r); i += 2 {
		start, n := r[i], r[i+1]
		if start < 0 || n < 1 || start >= len(values) || n > len(values)-start {
			return nil, fmt.Errorf("%s: value run [%d, %d] outside the value table", where, start, n)
		}
		total += n
		if total > len(values) {
			return nil, fmt.Errorf("%s: more values than the value table holds", where)
		}
	}
	out := make([]string, 0, total)
	for i := 0; i < len(r); i += 2 {
		out = append(out, values[r[i]:r[i]+r[i+1]]...)
	}
	return out, nil
}

func (fp fileProv) decode(values []string, where string) (Provenance, error) {
	hs, err := fp.Hashes.expand(values, where)
	if err != nil {
		return Provenance{}, err
	}
	p := Provenance{Incidents: fp.Incidents, Hashes: make(map[string][]int, len(hs))}
	next := 0
	for _, g := range fp.Groups {
		if len(g) < 2 || g[0] < 1 || g[0] > len(hs)-next {
			return Provenance{}, fmt.Errorf("%s: malformed incident group", where)
		}
		for range g[0] {
			h := hs[next]
			next++
			if _, dup := p.Hashes[h]; dup {
				return Provenance{}, fmt.Errorf("%s: hash %s listed twice", where, quoteTrunc(h))
			}
			p.Hashes[h] = g[1:]
		}
	}
	if next != len(hs) {
		return Provenance{}, fmt.Errorf("%s: %d hashes but incident lists for %d", where, len(hs), next)
	}
	return p, nil
}
