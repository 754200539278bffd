package lumu

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// fuzzMaxPages bounds the listings of the fuzz targets (the transport
// answers every page with the same body).
const fuzzMaxPages = 4

func fuzzClient(t *testing.T, body []byte) (*Client, *testkit.BodyTransport) {
	t.Helper()
	bt := &testkit.BodyTransport{Body: body}
	clk := newFakeClock()
	c, err := NewClient(ClientConfig{
		BaseURL: "http://lumu.invalid", Key: testKey, Company: "acme",
		HTTPClient: &http.Client{Transport: bt}, Now: clk.Now, Sleep: clk.Sleep,
		Jitter: func() float64 { return 0 }, MaxPages: fuzzMaxPages, MaxBodyBytes: 1 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, bt
}

// FuzzDecodeIncidents feeds arbitrary bodies to ListIncidents as the
// answer to every page of POST /api/incidents/all. It must not panic, must
// stop within MaxPages, must never leak the key in an error, and what it
// returns must be valid: lowercase UUID ids, each once, and incidents that
// survive a JSON round trip. Seeds: testdata/fuzz/FuzzDecodeIncidents
// (go test -run TestLumuSeedCorpus -update regenerates them).
func FuzzDecodeIncidents(f *testing.F) {
	for _, s := range lumuSeeds(f)["FuzzDecodeIncidents"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, bt := fuzzClient(t, body)
		res, err := c.ListIncidents(context.Background(), ListQuery{}, nil)
		if bt.Calls > fuzzMaxPages || res.Pages > fuzzMaxPages {
			t.Fatalf("%d requests, %d pages: MaxPages %d not honoured", bt.Calls, res.Pages, fuzzMaxPages)
		}
		if err != nil {
			assertNoKey(t, err.Error())
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		seen := map[string]bool{}
		for _, in := range res.Incidents {
			if !ValidUUID(in.ID) || in.ID != strings.ToLower(in.ID) {
				t.Fatalf("accepted incident id %q", in.ID)
			}
			if seen[in.ID] {
				t.Fatalf("incident %s returned twice", in.ID)
			}
			seen[in.ID] = true
			b, err := json.Marshal(in)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", in, err)
			}
			var back Incident
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("decode of re-encoded incident %s: %v", b, err)
			}
			if !back.Timestamp.Equal(in.Timestamp.Time) || !back.LastContact.Equal(in.LastContact.Time) {
				t.Fatalf("times changed in a round trip: %+v -> %+v", in, back)
			}
		}
	})
}

// FuzzDecodeContext feeds arbitrary bodies to Context as the answer of
// GET /api/incidents/{id}/context. It must not panic or leak the key, and
// the related files of an accepted context go through Normalize without
// panicking either (as the source does).
func FuzzDecodeContext(f *testing.F) {
	for _, s := range lumuSeeds(f)["FuzzDecodeContext"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, _ := fuzzClient(t, body)
		cx, err := c.Context(context.Background(), "a0664d30-94d4-11ed-b0f8-a7e340234a4e", provider.SHA256)
		if err != nil {
			assertNoKey(t, err.Error())
			return
		}
		files := cx.Files()
		if len(files) != len(cx.RelatedFiles) {
			t.Fatalf("Files() = %d entries for %d related files", len(files), len(cx.RelatedFiles))
		}
		for _, v := range files {
			if h, ok := Normalize(v, provider.SHA256); ok && len(h) != 64 {
				t.Fatalf("Normalize(%q) accepted %q", v, h)
			}
			_ = malformedWarning("x", provider.SHA256, v)
		}
		_ = cx.Active()
	})
}

// lumuSeeds returns the seed bodies of both targets: the recorded sample
// payloads, then truncated and hostile variants.
func lumuSeeds(tb testing.TB) map[string][]seed {
	samples := samplePayloads(tb)
	list := []byte(samples["POST /api/incidents/all (also open|muted|closed)"])
	cx := []byte(samples["GET /api/incidents/{id}/context?hash=sha256"])
	details := []byte(samples["GET /api/incidents/{id}/details"])
	const id = `"a0664d30-94d4-11ed-b0f8-a7e340234a4e"`
	inc := func(extra string) string {
		return `{"id":` + id + `,"timestamp":"2023-01-15T13:00:46.339Z","status":"open","adversaryTypes":["Malware"],"description":"d"` + extra + `}`
	}
	page := func(items, pi string) []byte {
		return []byte(`{"items":[` + items + `],"paginationInfo":` + pi + `}`)
	}
	return map[string][]seed{
		"FuzzDecodeIncidents": {
			{"sample_page", list},
			{"sample_truncated", list[:len(list)/2]},
			{"sample_details", details},
			{"empty_body", nil},
			{"null", []byte("null")},
			{"last_page", page(inc(""), `{"page":1,"items":100}`)},
			{"next_loops_back", page(inc(""), `{"page":2,"items":100,"next":1}`)},
			{"next_same_items", page(inc(""), `{"page":1,"items":100,"next":2}`)},
			{"alt_pagination", []byte(`{"items":[` + inc("") + `],"pagination":{"page":1,"next":3}}`)},
			{"uppercase_id", bytes.ToUpper(page(inc(""), `{}`))},
			{"id_not_uuid", page(`{"id":"../../etc/passwd"}`, `{}`)},
			{"id_number", page(`{"id":7}`, `{}`)},
			{"bad_time", page(inc(`,"lastContact":"yesterday"`), `{}`)},
			{"time_number", page(inc(`,"lastContact":12`), `{}`)},
			{"time_offset", page(inc(`,"lastContact":"2023-01-15T13:00:46.339+05:00"`), `{}`)},
			{"contacts_overflow", page(inc(`,"contacts":1e400`), `{}`)},
			{"control_chars", page(inc(`,"description":"\u001b[2J\u001b]0;pwned\u0007\r\n","adversaryTypes":["\u001b[31mred"]`), `{}`)},
			{"items_object", []byte(`{"items":{}}`)},
			{"deep_nesting", []byte(`{"items":` + strings.Repeat("[", 20000))},
			{"duplicate_ids", page(inc("")+","+inc(""), `{"next":2}`)},
			{"negative_next", page(inc(""), `{"next":-1}`)},
		},
		"FuzzDecodeContext": {
			{"sample_context", cx},
			{"sample_truncated", cx[:len(cx)/2]},
			{"empty_body", nil},
			{"null", []byte("null")},
			{"files", []byte(`{"currently_active":true,"related_files":["E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"," 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 "]}`)},
			{"files_not_strings", []byte(`{"related_files":[1,{"a":2},null,["x"],true]}`)},
			{"files_object", []byte(`{"related_files":{"a":"b"}}`)},
			{"inactive", []byte(`{"currently_active":false,"related_files":[]}`)},
			{"active_string", []byte(`{"currently_active":"yes"}`)},
			{"control_chars", []byte(`{"related_files":["\u001b[31m","\u0000","\ud800"]}`)},
			{"deep_nesting", []byte(`{"related_files":[` + strings.Repeat("[", 20000))},
			{"bad_time", []byte(`{"timestamp":"2023-13-45"}`)},
		},
	}
}

type seed struct {
	name string
	data []byte
}

// TestLumuSeedCorpus requires testdata/fuzz/FuzzDecode{Incidents,Context}
// to hold exactly the seeds lumuSeeds generates; -update rewrites them.
func TestLumuSeedCorpus(t *testing.T) {
	for target, seeds := range lumuSeeds(t) {
		files := map[string][]byte{}
		for _, s := range seeds {
			files["seed_"+s.name] = testkit.FuzzFile(s.data)
		}
		testkit.CheckFiles(t, filepath.Join("testdata", "fuzz", target), "seed_", files)
	}
}

// TestLumuSeedVerdicts pins what the client makes of the main seeds, so
// that the corpus keeps exercising both the accepting and refusing paths.
func TestLumuSeedVerdicts(t *testing.T) {
	want := map[string]string{ // seed -> error substring ("" = accepted)
		"sample_page":       "repeated incidents", // the sample announces next=2 and the transport repeats it
		"sample_truncated":  "not a valid incident list",
		"empty_body":        "",
		"last_page":         "",
		"next_loops_back":   "announced page 1 as the next page",
		"alt_pagination":    "repeated incidents",
		"uppercase_id":      "", // keys match case-insensitively; the id is lowercased
		"id_not_uuid":       "invalid id",
		"bad_time":          "not RFC 3339",
		"contacts_overflow": "not a valid incident list",
		"control_chars":     "",
		"deep_nesting":      "not a valid incident list",
		"negative_next":     "announced page -1",
	}
	seeds := map[string][]byte{}
	for _, s := range lumuSeeds(t)["FuzzDecodeIncidents"] {
		seeds[s.name] = s.data
	}
	for name, sub := range want {
		t.Run(name, func(t *testing.T) {
			c, _ := fuzzClient(t, seeds[name])
			_, err := c.ListIncidents(context.Background(), ListQuery{}, nil)
			switch {
			case sub == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case sub != "" && (err == nil || !strings.Contains(err.Error(), sub)):
				t.Fatalf("error = %v, want it to contain %q", err, sub)
			}
		})
	}
}
