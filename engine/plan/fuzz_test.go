package plan

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/provider/providertest"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// FuzzDecode feeds arbitrary bytes to the plan-file decoder. Decode must
// never panic, and either
//   - refuse the input with a decode error (IsDecodeError), or
//   - return a plan whose digest matches its content, whose every change
//     carries the namespace's ownership prefix, and which re-encodes to a
//     file that decodes again to the same digest.
//
// Seeds live in testdata/fuzz/FuzzDecode (real plans made by Make, then
// truncated and tampered with); go test -run
// TestDecodeSeedCorpus -update regenerates them. Run with go test -fuzz FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(bytes.NewReader(data))
		if err != nil {
			if !IsDecodeError(err) {
				t.Fatalf("Decode error is not a decode error: %T %v", err, err)
			}
			if p != nil {
				t.Fatal("Decode returned a plan with an error")
			}
			return
		}
		checkDecoded(t, p)
		var buf bytes.Buffer
		if err := Encode(&buf, p); err != nil {
			t.Fatalf("re-encode of a decoded plan: %v", err)
		}
		again, err := Decode(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("decode of re-encoded plan: %v\n%s", err, buf.Bytes())
		}
		if again.Digest != p.Digest {
			t.Fatalf("round trip changed the digest: %s -> %s", p.Digest, again.Digest)
		}
		checkDecoded(t, again)
	})
}

// checkDecoded asserts the invariants apply relies on for an accepted plan.
func checkDecoded(t *testing.T, p *Plan) {
	t.Helper()
	if want, err := ComputeDigest(p); err != nil || want != p.Digest {
		t.Fatalf("accepted plan digest %q, content digest %q (%v)", p.Digest, want, err)
	}
	prefix := pack.OwnedPrefix(p.Namespace)
	if p.Namespace == "" {
		t.Fatal("accepted plan has an empty namespace")
	}
	for _, b := range p.Blocklists {
		for _, c := range b.Changes {
			if !strings.HasPrefix(c.ItemID, prefix) {
				t.Fatalf("accepted change for %q lacks the prefix %q", c.ItemID, prefix)
			}
			if c.After != nil && c.After.ItemID != c.ItemID {
				t.Fatalf("accepted change for %q writes item %q", c.ItemID, c.After.ItemID)
			}
		}
	}
}

func versionField(v int) string { return `"format_version":` + strconv.Itoa(v) }

type seed struct {
	name string
	data []byte
}

// decodeSeeds builds real plan files with Make and derives broken ones.
func decodeSeeds(tb testing.TB) []seed {
	var out []seed
	enc := func(p *Plan) []byte {
		var buf bytes.Buffer
		if err := Encode(&buf, p); err != nil {
			tb.Fatal(err)
		}
		return buf.Bytes()
	}
	e := &env{cfg: loadConfigTB(tb, oneBlocklist), src: providertest.NewSource(), target: providertest.NewTarget()}
	e.src.Set("mal", provider.SHA256, hashes("a", 30)...)
	create := e.planTB(tb)
	createFile := enc(create)
	out = append(out, seed{"create", createFile})

	e.applyTB(tb, create)
	e.src.Set("mal", provider.SHA256, hashes("a", 25)...)
	update := e.planTB(tb)
	updateFile := enc(update)
	out = append(out, seed{"update", updateFile})
	e.src.Set("mal", provider.SHA256, hashes("b", 3)...)
	mixedFile := enc(e.planTB(tb, func(o *Options) { o.AllowMassDelete = true }))
	out = append(out, seed{"mixed", mixedFile})
	out = append(out, seed{"destroy", enc(e.planTB(tb, func(o *Options) { o.Mode = ModeDestroy; o.AllowMassDelete = true }))})
	e.src.Set("mal", provider.SHA256, hashes("a", 30)...)
	out = append(out, seed{"no_changes", enc(e.planTB(tb))})

	// Broken copies of real files.
	head, body := unpackFile(tb, createFile)
	var hdr fileHeader
	if err := json.Unmarshal(head, &hdr); err != nil {
		tb.Fatal(err)
	}
	withVersion := func(v int) []byte {
		h := hdr
		h.FormatVersion = v
		b, _ := json.Marshal(h)
		return packFile(tb, b, body)
	}
	badDigest := hdr
	badDigest.Digest = "0" + hdr.Digest[1:]
	badDigestHead, _ := json.Marshal(badDigest)
	var indented bytes.Buffer
	if err := json.Indent(&indented, body, "", " "); err != nil {
		tb.Fatal(err)
	}
	out = append(out,
		seed{"truncated_half", createFile[:len(createFile)/2]},
		seed{"truncated_last_byte", createFile[:len(createFile)-2]},
		seed{"tampered_tag", packFile(tb, head, bytes.Replace(body, []byte(`"policy:all"`), []byte(`"policy:xyz"`), 1))},
		seed{"tampered_digest", packFile(tb, badDigestHead, body)},
		seed{"future_version", withVersion(FormatVersion + 1)},
		seed{"older_version", withVersion(FormatVersion - 1)},
		seed{"older_json_file", []byte(`{"format_version":2,"tool_version":"old","mode":"normal"}` + "\n")},
		seed{"version_zero", withVersion(0)},
		seed{"trailing_data", append(append([]byte{}, createFile...), createFile...)},
		seed{"trailing_in_body", resealBody(tb, append(append([]byte{}, body...), []byte(`{"mode":"normal"}`+"\n")...))},
		seed{"unknown_field", resealBody(tb, bytes.Replace(body, []byte(`"mode":`), []byte(`"mood":1,"mode":`), 1))},
		seed{"not_canonical", resealBody(tb, append(indented.Bytes(), '\n'))},
		seed{"no_header", gzipRaw(tb, []byte(versionField(FormatVersion)))},
		seed{"gzip_garbage", packFile(tb, []byte("not json"), []byte("at all"))},
		seed{"empty", nil},
		seed{"not_json", []byte("not json")},
		seed{"version_only", []byte(`{"format_version":1}`)},
		seed{"deep_nesting", resealBody(tb, []byte(`{"blocklists":`+strings.Repeat("[", 20000)+`}`))},
		seed{"run_outside_table", editBody(tb, createFile, func(fb *fileBody) { fb.Blocklists[0].Changes[0].Added = runs{1 << 20, 1} })},
		seed{"odd_runs", editBody(tb, createFile, func(fb *fileBody) { fb.Blocklists[0].Changes[0].Added = runs{0} })},
		seed{"hash_as_text", editBody(tb, createFile, func(fb *fileBody) { fb.Values.Other = append(fb.Values.Other, hashes("t", 1)[0]) })},
		seed{"ragged_table", editBody(tb, createFile, func(fb *fileBody) { fb.Values.SHA256 = fb.Values.SHA256[:len(fb.Values.SHA256)-1] })},
		seed{"group_overrun", editBody(tb, createFile, func(fb *fileBody) { fb.Blocklists[0].Provenance.Groups[0][0] += 5 })},
		seed{"duplicate_provenance", editBody(tb, createFile, func(fb *fileBody) {
			pr := &fb.Blocklists[0].Provenance
			pr.Hashes = append(pr.Hashes, pr.Hashes[0], 1)
			pr.Groups = append(pr.Groups, []int{1, 0})
		})},
	)

	// Resealed (the digest matches) but breaking what apply relies on.
	mutOf := func(file []byte, name string, change func(p *Plan)) {
		p, err := Decode(bytes.NewReader(file))
		if err != nil {
			tb.Fatal(err)
		}
		change(p)
		if err := Seal(p); err != nil {
			tb.Fatal(err)
		}
		out = append(out, seed{name, enc(p)})
	}
	mut := func(name string, change func(p *Plan)) { mutOf(updateFile, name, change) }
	mut("foreign_item", func(p *Plan) { p.Blocklists[0].Changes[0].ItemID = "someone-else-1" })
	mut("other_namespace", func(p *Plan) { p.Namespace = "other" })
	mut("bad_namespace", func(p *Plan) { p.Namespace = "Bad-NS" })
	mut("unknown_mode", func(p *Plan) { p.Mode = "yolo" })
	mut("unknown_kibana", func(p *Plan) { p.Blocklists[0].Kibana = "nowhere" })
	mut("update_without_version", func(p *Plan) {
		for i := range p.Blocklists[0].Changes {
			p.Blocklists[0].Changes[i].ExpectVersion = ""
		}
	})
	mutOf(createFile, "upper_hex_value", func(p *Plan) {
		for _, c := range p.Blocklists[0].Changes {
			if c.After != nil {
				c.After.Entries[0].Value[0] = strings.ToUpper(c.After.Entries[0].Value[0])
				return
			}
		}
	})
	// An update's change of its item's values (format 4), resealed.
	diffOf := func(p *Plan) *ValueDiff {
		for _, c := range p.Blocklists[0].Changes {
			if c.Diff != nil {
				return c.Diff
			}
		}
		tb.Fatal("no update saved as a value change")
		return nil
	}
	mutOf(mixedFile, "diff_adds_twice", func(p *Plan) { d := diffOf(p); d.Add = append(d.Add, d.Add[len(d.Add)-1]) })
	mutOf(mixedFile, "diff_adds_uppercase", func(p *Plan) { d := diffOf(p); d.Add[0] = strings.ToUpper(d.Add[0]) })
	mutOf(mixedFile, "diff_unsorted", func(p *Plan) { d := diffOf(p); d.Add = append(d.Add, strings.Repeat("0", 64)) })
	mutOf(mixedFile, "diff_adds_what_it_drops", func(p *Plan) { d := diffOf(p); d.Drop = append(d.Drop, d.Add[0]); slices.Sort(d.Drop) })
	mutOf(mixedFile, "diff_no_values_left", func(p *Plan) { diffOf(p).Count = 0 })
	mutOf(mixedFile, "diff_bad_sum", func(p *Plan) { diffOf(p).Sum = "not a sha256" })
	out = append(out,
		seed{"diff_and_values", editBody(tb, mixedFile, func(fb *fileBody) {
			for _, c := range fb.Blocklists[0].Changes {
				if c.Diff != nil {
					c.After.Entries[0].Values = c.Diff.Add
					return
				}
			}
		})},
		seed{"diff_on_create", diffAction(tb, mixedFile, provider.Create)},
		seed{"diff_on_delete", diffAction(tb, mixedFile, provider.Delete)},
	)
	mut("provenance_out_of_range", func(p *Plan) {
		p.Blocklists[0].Provenance.Hashes = map[string][]int{"x": {len(p.Blocklists[0].Provenance.Incidents) + 5}}
	})
	mut("control_chars", func(p *Plan) {
		p.ToolVersion = "\x1b[31mred\x1b[0m\r\n"
		p.Warnings = append(p.Warnings, Note{Summary: "\x07bell", Detail: "\u009b2J\u202e"})
	})
	return out
}

// diffAction makes the update of a plan file saved as a value change
// another action (resealed).
func diffAction(tb testing.TB, file []byte, a provider.Action) []byte {
	return editBody(tb, file, func(fb *fileBody) {
		for i, c := range fb.Blocklists[0].Changes {
			if c.Diff != nil {
				fb.Blocklists[0].Changes[i].Action = a
				return
			}
		}
		tb.Fatal("no update saved as a value change")
	})
}

// loadConfigTB is loadConfig for any testing.TB (a fuzz target builds its
// seeds with a *testing.F).
func loadConfigTB(tb testing.TB, blocks string) *config.Config {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), []byte(baseConfig+blocks), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Getenv: func(string) string { return "" }})
	if diags.HasErrors() {
		tb.Fatalf("config: %s", diags.Error())
	}
	return cfg
}

func (e *env) planTB(tb testing.TB, mut ...func(*Options)) *Plan {
	tb.Helper()
	opts := Options{Config: e.cfg, Prior: e.prior, Source: e.src,
		Kibanas: map[string]provider.Target{"prod": e.target}, Now: testNow, ToolVersion: "test"}
	for _, m := range mut {
		m(&opts)
	}
	p, diags := Make(context.Background(), opts)
	if diags.HasErrors() {
		tb.Fatalf("plan: %s", diags.Error())
	}
	return p
}

// applyTB is applyDirect for any testing.TB.
func (e *env) applyTB(tb testing.TB, p *Plan) {
	tb.Helper()
	ctx := context.Background()
	if e.prior.Items == nil {
		e.prior.Items = map[string]provider.Item{}
	}
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			var err error
			switch c.Action {
			case provider.Create, provider.Update:
				var it provider.Item
				if c.Action == provider.Create {
					it, err = e.target.Create(ctx, *c.After)
				} else {
					it, err = e.target.Update(ctx, *c.After)
				}
				e.prior.Items[it.ItemID] = it
			case provider.Delete:
				err = e.target.Delete(ctx, c.ID, c.ExpectVersion)
				delete(e.prior.Items, c.ItemID)
			}
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// TestDecodeSeedCorpus requires testdata/fuzz/FuzzDecode to hold exactly
// the seeds decodeSeeds generates; -update rewrites them.
func TestDecodeSeedCorpus(t *testing.T) {
	files := map[string][]byte{}
	for _, s := range decodeSeeds(t) {
		files["seed_"+s.name] = testkit.FuzzFile(s.data)
	}
	testkit.CheckFiles(t, filepath.Join("testdata", "fuzz", "FuzzDecode"), "seed_", files)
}

// TestDecodeSeedVerdicts pins which seeds Decode accepts: the real plans,
// and nothing that was truncated or tampered with.
func TestDecodeSeedVerdicts(t *testing.T) {
	accept := map[string]bool{"create": true, "update": true, "mixed": true, "destroy": true, "no_changes": true, "control_chars": true}
	for _, s := range decodeSeeds(t) {
		t.Run(s.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(s.data))
			if accept[s.name] {
				if err != nil {
					t.Fatalf("real plan refused: %v", err)
				}
				return
			}
			if err == nil || !IsDecodeError(err) {
				t.Fatalf("Decode = %v, want a decode error", err)
			}
		})
	}
}

// TestCheckedInPlanSeedsDecode keeps the checked-in corpus useful: its real
// plans must still decode, or the fuzzer starts from refusals only.
func TestCheckedInPlanSeedsDecode(t *testing.T) {
	for _, name := range []string{"create", "update", "mixed", "destroy", "no_changes"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzDecode", "seed_"+name))
			if err != nil {
				t.Fatal(err)
			}
			lit, ok := strings.CutPrefix(string(raw), "go test fuzz v1\n[]byte(")
			lit, ok2 := strings.CutSuffix(lit, ")\n")
			if !ok || !ok2 {
				t.Fatalf("not a corpus file: %.80q", raw)
			}
			data, err := strconv.Unquote(lit)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Decode(strings.NewReader(data)); err != nil {
				t.Fatalf("checked-in plan no longer decodes (%v): regenerate with go test -run TestDecodeSeedCorpus -update", err)
			}
		})
	}
}
