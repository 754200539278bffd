package lumu

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// checkPageFast requires decodeIncidentPageFast, when it accepts data, to
// give what encoding/json gives, and to refuse what encoding/json refuses.
func checkPageFast(t *testing.T, data []byte) (accepted bool) {
	t.Helper()
	return testkit.SameAsJSON(t, "decodeIncidentPageFast", data, decodeIncidentPageFast, nil)
}

type pageSeed struct {
	name, data string
	fast       bool
}

// listFastSeeds are tricky pages; fast is whether decodeIncidentPageFast
// must take them.
func listFastSeeds(tb testing.TB) []pageSeed {
	const full = `{"id":"a0664d30-94d4-11ed-b0f8-a7e340234a4e","timestamp":"2023-01-15T13:00:46.339Z",` +
		`"statusTimestamp":"2023-01-15T13:00:46.339Z","status":"open","contacts":10,"adversaries":["waste4think.eu"],` +
		`"adversaryId":"waste4think.eu","adversaryTypes":["Phishing","C2C"],"description":"Phishing domain",` +
		`"labelDistribution":{"4055":6,"548":4},"totalEndpoints":3,"lastContact":"2023-01-18T21:22:09.643Z",` +
		`"unread":true,"hasPlaybackContacts":true,"firstContact":"2023-01-13T16:58:06.814Z"}`
	// in is a page of one incident with the given fields.
	in := func(fields string) string { return `{"items":[{` + fields + `}]}` }
	seeds := []pageSeed{
		{"sample", string(samplePayloads(tb)["POST /api/incidents/all (also open|muted|closed)"]), true},
		{"usual", `{"items":[` + full + `,` + full + `],"timestamp":"2023-01-25T12:10:12.304Z","paginationInfo":{"page":1,"items":100,"next":2}}`, true},
		{"spaces", " \n{ \"items\" : [ { \"id\" : \"a\" , \"contacts\" : 3 , \"adversaryTypes\" : [ \"C2C\" , \"x\" ] } ] ,\t\"paginationInfo\" : { \"next\" : 0 } }\r\n", true},
		{"empty_items", `{"items":[],"paginationInfo":{"page":3,"items":100,"prev":2}}`, true},
		{"empty", `{}`, true},
		{"page_nulls", `{"items":null,"paginationInfo":null,"pagination":null}`, true},
		{"alt_pagination", `{"items":[{}],"pagination":{"page":1,"next":3,"prev":-1}}`, true},
		{"incident_nulls", in(`"id":null,"timestamp":null,"statusTimestamp":null,"status":null,"contacts":null,"adversaries":null,` +
			`"adversaryId":null,"adversaryTypes":null,"description":null,"labelDistribution":null,"totalEndpoints":null,` +
			`"firstContact":null,"lastContact":null,"unread":null`), true},
		{"pagination_nulls", `{"paginationInfo":{"page":null,"items":null,"next":null,"prev":null}}`, true},
		{"empty_lists", in(`"adversaries":[],"adversaryTypes":[],"labelDistribution":{}`), true},
		{"unknown_keys", `{"x":{"y":[1,2e5,null,true,"\u0041"]},"items":[{"hasPlaybackContacts":false,"z":[]}],"timestamp":"t"}`, true},
		{"times", in(`"timestamp":"","statusTimestamp":" 2023-01-15T13:00:46Z ","firstContact":"2023-01-15T13:00:46.339+05:00",` +
			`"lastContact":"2023-01-15T13:00:46\u002e5Z"`), true},
		{"escaped_values", in(`"id":"\u0041\n","status":"op\u0065n","description":"caf\u00e9 \u001b[2J \"q\" \\","adversaryTypes":["Mal\u0077are","\ud83d\ude00"],"adversaries":["\/"]`), true},
		{"utf8_values", in("\"description\":\"café ☃\",\"adversaryId\":\"b\xffad\",\"status\":\"\xc3\""), true},
		{"other_status_types", in(`"status":"weird","adversaryTypes":["Other","spam","Spam"]`), true},
		{"label_case", in(`"labelDistribution":{"A":1,"a":2,"":-3}`), true},
		{"numbers", `{"items":[{"contacts":-0,"totalEndpoints":123456789012345}],"paginationInfo":{"page":-5,"items":0}}`, strconv.IntSize == 64}, // an int has 32 bits on 386
		{"many_items", `{"items":[` + strings.Repeat(`{"id":"x"},`, 150) + `{}]}`, true},
		{"unread_false", in(`"unread":false`), true},

		// Keys encoding/json would match case-insensitively.
		{"case_items", `{"Items":[]}`, false},
		{"case_pagination_info", `{"PAGINATIONINFO":{}}`, false},
		{"case_pagination", `{"pagInation":null}`, false},
		{"case_id", in(`"ID":"x"`), false},
		{"case_adversary_id", in(`"AdversaryId":"x"`), false},
		{"case_unread", in(`"unRead":true`), false},
		{"case_last_contact", in(`"lastcontact":null`), false},
		{"case_next", `{"paginationInfo":{"Next":2}}`, false},
		// Repeated keys (encoding/json merges or overwrites).
		{"repeated_items", `{"items":[],"items":[{}]}`, false},
		{"repeated_id", in(`"id":"a","id":"b"`), false},
		{"repeated_time", in(`"timestamp":"2023-01-15T13:00:46Z","timestamp":null`), false},
		{"repeated_next", `{"paginationInfo":{"next":1,"next":2}}`, false},
		{"repeated_label", in(`"labelDistribution":{"1":1,"1":2}`), false},
		// Escapes in keys.
		{"escaped_key", `{"item\u0073":[]}`, false},
		{"escaped_unknown_key", `{"\u0078":1}`, false},
		{"escaped_label", in(`"labelDistribution":{"\u0031":1}`), false},
		{"utf8_key", `{"ítems":[]}`, false},
		// Numbers.
		{"contacts_float", in(`"contacts":1.5`), false},
		{"contacts_float_zero", in(`"contacts":1.0`), false},
		{"contacts_exponent", in(`"contacts":1e3`), false},
		{"contacts_exponent_upper", in(`"contacts":1E3`), false},
		{"contacts_huge", in(`"contacts":99999999999999999999`), false},
		{"contacts_16_digits", in(`"contacts":1234567890123456`), false},
		{"contacts_string", in(`"contacts":"5"`), false},
		{"contacts_bool", in(`"contacts":true`), false},
		{"contacts_leading_zero", in(`"contacts":01`), false},
		{"contacts_minus", in(`"contacts":-`), false},
		{"endpoints_float", in(`"totalEndpoints":2.5`), false},
		{"page_float", `{"paginationInfo":{"page":1.5}}`, false},
		{"next_string", `{"paginationInfo":{"next":"2"}}`, false},
		{"label_float", in(`"labelDistribution":{"1":1.0}`), false},
		{"label_null", in(`"labelDistribution":{"1":null}`), false},
		{"label_string", in(`"labelDistribution":{"1":"1"}`), false},
		// Other types and nulls encoding/json keeps as zero elements.
		{"unread_string", in(`"unread":"true"`), false},
		{"unread_number", in(`"unread":1`), false},
		{"item_null", `{"items":[null]}`, false},
		{"adversary_null", in(`"adversaries":["a",null]`), false},
		{"adversary_type_null", in(`"adversaryTypes":[null]`), false},
		{"adversary_number", in(`"adversaries":[1]`), false},
		{"adversary_type_number", in(`"adversaryTypes":[1]`), false},
		{"adversaries_string", in(`"adversaries":"a"`), false},
		{"items_object", `{"items":{}}`, false},
		{"items_string", `{"items":"x"}`, false},
		{"id_number", in(`"id":7`), false},
		{"status_number", in(`"status":7`), false},
		{"labels_array", in(`"labelDistribution":[]`), false},
		{"pagination_info_array", `{"paginationInfo":[]}`, false},
		{"pagination_number", `{"pagination":5}`, false},
		{"bad_time", in(`"lastContact":"yesterday"`), false},
		{"time_number", in(`"lastContact":12`), false},
		{"time_object", in(`"lastContact":{}`), false},
		{"time_bool", in(`"lastContact":true`), false},
		{"time_space", in(`"lastContact":" "`), false},
		// Not a page, or not JSON.
		{"null", `null`, false},
		{"array", `[]`, false},
		{"blank", ``, false},
		{"spaces_only", " \n\t", false},
		{"trailing", `{} x`, false},
		{"two_objects", `{}{}`, false},
		{"truncated", `{"items":[{"id":"a"}`, false},
		{"control_char", in("\"id\":\"a\tb\""), false},
		{"bad_escape", in(`"id":"\x"`), false},
		{"deep_unknown", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false},
	}
	return seeds
}

func TestDecodeIncidentPageFast(t *testing.T) {
	for _, tc := range listFastSeeds(t) {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkPageFast(t, []byte(tc.data)); got != tc.fast {
				t.Fatalf("decodeIncidentPageFast accepted = %v, want %v", got, tc.fast)
			}
		})
	}
}

// TestListFastFields: decodeIncidentPageFast's field lists follow the
// structs.
func TestListFastFields(t *testing.T) {
	testkit.SameJSONNames(t, incidentPage{}, pageFields)
	testkit.SameJSONNames(t, PaginationInfo{}, paginationFields)
	testkit.SameJSONNames(t, Incident{}, incidentFields)
}

// recorder keeps the bodies of the list pages a client reads.
type recorder struct {
	next  http.RoundTripper
	mu    sync.Mutex
	pages [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || req.URL.Path != "/api/incidents/all" {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.pages = append(r.pages, body)
	r.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// standInPages lists every incident of the stand-in's scenario and returns
// the pages it served, with how many incidents ListIncidents returned.
func standInPages(tb testing.TB, scenario string) (pages [][]byte, incidents int) {
	tb.Helper()
	_, srv, _ := startSim(tb, scenario)
	rec := &recorder{next: srv.Client().Transport}
	clk := newFakeClock()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL, Key: testKey, Company: "acme",
		HTTPClient: &http.Client{Transport: rec}, Now: clk.Now, Sleep: clk.Sleep, Jitter: func() float64 { return 0 }})
	if err != nil {
		tb.Fatal(err)
	}
	res, err := c.ListIncidents(context.Background(), ListQuery{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return rec.pages, len(res.Incidents)
}

// TestListFastStandIn: the pages the Lumu stand-in serves take the fast
// path (and decode as encoding/json decodes them).
func TestListFastStandIn(t *testing.T) {
	pages, n := standInPages(t, lumusim.ScenarioSmall)
	if len(pages) == 0 || n == 0 {
		t.Fatalf("%d pages, %d incidents", len(pages), n)
	}
	for i, page := range pages {
		if !checkPageFast(t, page) {
			t.Errorf("page %d of the stand-in is left to encoding/json: %.300s", i+1, page)
		}
	}
}

// FuzzDecodeIncidentPageFast: whatever decodeIncidentPageFast accepts,
// encoding/json decodes to the same page, and it accepts nothing that
// encoding/json refuses.
func FuzzDecodeIncidentPageFast(f *testing.F) {
	for _, s := range listFastSeeds(f) {
		f.Add([]byte(s.data))
	}
	// A short page: the fuzzer minimizes every input that finds new
	// coverage, which takes very long from a page of 100 incidents.
	f.Add(standInPage(f, lumusim.ScenarioSmall, 3))
	f.Fuzz(func(t *testing.T, data []byte) { checkPageFast(t, data) })
}

// standInPage is the first page of the stand-in's list of the scenario,
// of at most items incidents.
func standInPage(tb testing.TB, scenario string, items int) []byte {
	tb.Helper()
	sim, _, _ := startSim(tb, scenario)
	w := httptest.NewRecorder()
	sim.ServeHTTP(w, httptest.NewRequest(http.MethodPost,
		"/api/incidents/all?page=1&items="+strconv.Itoa(items)+"&key="+url.QueryEscape(testKey), strings.NewReader("{}")))
	if w.Code != http.StatusOK {
		tb.Fatalf("stand-in: %d %s", w.Code, w.Body.Bytes())
	}
	return w.Body.Bytes()
}

// BenchmarkDecodeIncidentPage decodes a full page of the stand-in (100
// incidents of the large scenario) in one pass and with encoding/json.
func BenchmarkDecodeIncidentPage(b *testing.B) {
	page := standInPage(b, lumusim.ScenarioLarge, PageSize)
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			if p, ok := decodeIncidentPageFast(page); !ok || len(p.Items) != PageSize {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			var p incidentPage
			if err := json.Unmarshal(page, &p); err != nil || len(p.Items) != PageSize {
				b.Fatal("not decoded", err)
			}
		}
	})
}
