package kibana

import (
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// Paging of the fuzz client: pages of 2 in a result window of 10, so that
// one body replayed for every page exercises paging, the window split and
// the repeated-page guard in a few requests.
const (
	fuzzPageSize = 2
	fuzzWindow   = 10
	fuzzPrefix   = "lumuctl-default-"
)

func fuzzClient(t *testing.T, status int, body []byte) (*Client, *testkit.BodyTransport) {
	t.Helper()
	bt := &testkit.BodyTransport{Status: status, Body: body}
	clk := newClock()
	c, err := New(provider.TargetConfig{Name: "prod", URL: "http://kibana.invalid", APIKey: testKey, RetryTimeout: 1},
		WithHTTPClient(&http.Client{Transport: bt}), WithClock(clk.Now), WithSleeper(clk.Sleep),
		WithRand(func() float64 { return 0 }), WithPageSize(fuzzPageSize))
	if err != nil {
		t.Fatal(err)
	}
	c.window = fuzzWindow
	return c, bt
}

// maxFuzzCalls bounds the requests of one List against a server that
// answers every _find with the same body: each of the maxSplitDepth
// narrowing levels costs at most a prefix and an exact _find of
// fuzzWindow/fuzzPageSize pages.
const maxFuzzCalls = (maxSplitDepth + 1) * 2 * (fuzzWindow / fuzzPageSize)

// FuzzDecodeFind feeds arbitrary bodies to List as the answer of every
// _find page. It must not panic, must stop within a bounded number of
// requests, and every item it returns as owned must carry the prefix, an
// id and a _version, once, in item_id order. Seeds:
// testdata/fuzz/FuzzDecodeFind (go test -run TestKibanaSeedCorpus
// -update regenerates them).
func FuzzDecodeFind(f *testing.F) {
	for _, s := range kibanaSeeds()["FuzzDecodeFind"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkFastPage(t, body) // the one-pass decoder agrees with encoding/json
		c, bt := fuzzClient(t, http.StatusOK, body)
		res, err := c.List(ctx, provider.ListRequest{Prefix: fuzzPrefix})
		if bt.Calls > maxFuzzCalls {
			t.Fatalf("%d _find requests for one List (bound %d)", bt.Calls, maxFuzzCalls)
		}
		if err != nil {
			checkErrText(t, err)
			return
		}
		ids := map[string]bool{}
		for _, it := range res.Owned {
			if !strings.HasPrefix(it.ItemID, fuzzPrefix) || it.ID == "" || it.Version == "" {
				t.Fatalf("owned item %+v lacks the prefix, id or _version", it)
			}
			if ids[it.ID] {
				t.Fatalf("item %s returned twice", it.ID)
			}
			ids[it.ID] = true
		}
		if !slices.IsSortedFunc(res.Owned, func(a, b provider.Item) int { return strings.Compare(a.ItemID, b.ItemID) }) {
			t.Fatal("owned items not sorted by item_id")
		}
		if res.Unmanaged < 0 {
			t.Fatalf("unmanaged = %d", res.Unmanaged)
		}
	})
}

// FuzzDecodeItem feeds arbitrary bodies to Get (one item read) and to
// decodeItem. Neither may panic; an accepted item has an id, an item_id and
// a _version, and decodeItem agrees with Get.
func FuzzDecodeItem(f *testing.F) {
	for _, s := range kibanaSeeds()["FuzzDecodeItem"] {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, _ := fuzzClient(t, http.StatusOK, body)
		it, err := c.Get(ctx, "so-1")
		direct, derr := decodeItem(body)
		if err != nil {
			checkErrText(t, err)
			return
		}
		if it.ID == "" || it.ItemID == "" || it.Version == "" {
			t.Fatalf("accepted item %+v lacks id, item_id or _version", it)
		}
		if derr != nil {
			// Get refuses items of another list; decodeItem does not check
			// the list, so it must accept whatever Get accepted.
			t.Fatalf("Get accepted what decodeItem refused: %v", derr)
		}
		if direct.ID != it.ID || direct.Version != it.Version {
			t.Fatalf("decodeItem = %+v, Get = %+v", direct, it)
		}
	})
}

// FuzzDecodeError feeds arbitrary error bodies, under each status the
// client maps, to the error-envelope decoder. The error must name the
// status, never hold the API key, and never carry raw control characters
// (Kibana's message reaches the terminal).
func FuzzDecodeError(f *testing.F) {
	for _, s := range kibanaSeeds()["FuzzDecodeError"] {
		for _, status := range []int{400, 401, 403, 404, 409, 413, 500} {
			f.Add(status, s.data)
		}
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 300 || status > 599 || retryableStatus(status) {
			return // not an error answer, or retried (covered by errors_test)
		}
		_ = decodeMessage(body)
		c, _ := fuzzClient(t, status, body)
		_, err := c.Get(ctx, "so-1")
		var nk *NotKibanaError
		if errors.As(err, &nk) {
			// Only a 404 that is not the API's own "does not exist" is
			// judged not Kibana's; it must never read as a missing item.
			if status != 404 || errors.Is(err, provider.ErrNotFound) || nk.Status != status {
				t.Fatalf("status %d: %v", status, err)
			}
			checkErrText(t, err)
			return
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("status %d: error %T %v is not an *APIError", status, err, err)
		}
		if apiErr.StatusCode != status {
			t.Fatalf("status %d reported as %d", status, apiErr.StatusCode)
		}
		checkErrText(t, err)
	})
}

// checkErrText asserts what every error shown to a person must satisfy.
func checkErrText(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" {
		t.Fatal("empty error")
	}
	if strings.Contains(msg, testKey) {
		t.Fatalf("error holds the API key: %q", msg)
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		if i := strings.IndexFunc(apiErr.Message, isTerminalControl); i >= 0 {
			t.Fatalf("message holds control character %q at %d: %q", apiErr.Message[i:i+1], i, apiErr.Message)
		}
		if len(apiErr.Message) > maxErrorBody {
			t.Fatalf("message of %d bytes", len(apiErr.Message))
		}
	}
}

// isTerminalControl reports C0 and C1 control characters and DEL: what a
// terminal may interpret (ESC starts an escape sequence, U+009B is CSI).
func isTerminalControl(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0)
}

type seed struct {
	name string
	data []byte
}

// kibanaSeeds returns the seed bodies: answers shaped like Kibana's
// (reference 8.x/9.x), truncated, and hostile.
func kibanaSeeds() map[string][]seed {
	item := func(itemID, extra string) string {
		return `{"id":"so-` + itemID + `","item_id":"` + itemID + `","_version":"WzEsMV0=","list_id":"endpoint_blocklists",` +
			`"namespace_type":"agnostic","type":"simple","name":"n","description":"d","os_types":["windows"],"tags":["policy:all"],` +
			`"entries":[{"field":"file.hash.sha256","type":"match_any","operator":"included","value":["` + strings.Repeat("ab", 32) + `"]}],` +
			`"meta":{"managed_by":"lumuctl"},"updated_at":"2026-08-10T09:00:00.000Z","updated_by":"elastic"` + extra + `}`
	}
	page := func(total string, items ...string) []byte {
		return []byte(`{"data":[` + strings.Join(items, ",") + `],"page":1,"per_page":2,"total":` + total + `}`)
	}
	own1, own2 := item(fuzzPrefix+"lumu-windows-sha256-1", ""), item(fuzzPrefix+"lumu-windows-sha256-2", "")
	foreign := item("someone-else", "")
	one := []byte(own1)
	return map[string][]seed{
		"FuzzDecodeFind": {
			{"two_owned", page("2", own1, own2)},
			{"owned_and_foreign", page("2", own1, foreign)},
			{"empty", page("0")},
			{"truncated", page("2", own1, own2)[:300]},
			{"no_total", []byte(`{"data":[],"page":1}`)},
			{"total_null", page("null")},
			{"total_never_ends", page("9", own1, own2)},
			{"total_beyond_window", page("100000", own1, own2)},
			{"total_negative", page("-1", own1)},
			{"owned_without_id", page("1", strings.Replace(own1, `"id":"so-`, `"idx":"so-`, 1))},
			{"owned_without_version", page("1", strings.Replace(own1, `"_version":"WzEsMV0=",`, ``, 1))},
			{"foreign_without_id", page("1", `{"item_id":"x"}`)},
			{"other_list", page("1", strings.Replace(own1, `"list_id":"endpoint_blocklists"`, `"list_id":"trusted_apps"`, 1))},
			{"value_string", page("1", strings.Replace(own1, `"value":["`+strings.Repeat("ab", 32)+`"]`, `"value":"x"`, 1))},
			{"value_object", page("1", strings.Replace(own1, `"value":["`+strings.Repeat("ab", 32)+`"]`, `"value":{"a":1}`, 1))},
			{"meta_array", page("1", strings.Replace(own1, `"meta":{"managed_by":"lumuctl"}`, `"meta":[1]`, 1))},
			{"bad_updated_at", page("1", strings.Replace(own1, `2026-08-10T09:00:00.000Z`, `yesterday`, 1))},
			{"control_chars", page("1", item(fuzzPrefix+"x", `,"name":"\u001b[2J\u001b]0;t\u0007","description":"\u009b31m"`))},
			{"data_not_array", []byte(`{"data":{"a":1},"total":1}`)},
			{"item_not_object", page("2", `1`, `"x"`)},
			{"deep_nesting", []byte(`{"data":` + strings.Repeat("[", 20000))},
			{"html", []byte("<html><body>502 Bad Gateway</body></html>")},
		},
		"FuzzDecodeItem": {
			{"item", one},
			{"truncated", one[:len(one)/2]},
			{"no_id", []byte(strings.Replace(own1, `"id":"so-`, `"idx":"so-`, 1))},
			{"no_version", []byte(strings.Replace(own1, `"_version":"WzEsMV0=",`, ``, 1))},
			{"no_item_id", []byte(`{"id":"a","_version":"v"}`)},
			{"other_list", []byte(strings.Replace(own1, `"list_id":"endpoint_blocklists"`, `"list_id":"x"`, 1))},
			{"value_null", []byte(strings.Replace(own1, `"value":["`+strings.Repeat("ab", 32)+`"]`, `"value":null`, 1))},
			{"value_bad_string", []byte(strings.Replace(own1, `"value":["`+strings.Repeat("ab", 32)+`"]`, `"value":"\ud800\u00`, 1))},
			{"entries_null", []byte(strings.Replace(own1, `"entries":[`, `"entries":null,"x":[`, 1))},
			{"null", []byte("null")},
			{"empty", nil},
			{"deep_nesting", []byte(`{"meta":` + strings.Repeat(`{"a":`, 20000))},
		},
		"FuzzDecodeError": {
			{"siem", []byte(`{"message":"exception list item id: \"x\" already exists","status_code":409}`)},
			{"boom", []byte(`{"statusCode":403,"error":"Forbidden","message":"API [POST /api/exception_lists/items] is unauthorized for user, this action is granted by the Kibana privileges [lists-all]"}`)},
			{"message_array", []byte(`{"message":["a","b"],"status_code":400}`)},
			{"message_object", []byte(`{"message":{"a":1},"status_code":400}`)},
			{"error_only", []byte(`{"error":"Bad Request"}`)},
			{"html", []byte("<html>\r\n<body>Bad gateway</body>\r\n</html>")},
			{"empty", nil},
			{"echoes_key", []byte(`{"message":"bad header Authorization: ApiKey ` + testKey + `"}`)},
			{"ansi_message", []byte(`{"message":"\u001b[2J\u001b]0;owned\u0007 \u009b31m red","status_code":400}`)},
			{"ansi_array", []byte(`{"message":["\u001b[31m","\r\n"]}`)},
			{"ansi_error", []byte(`{"error":"\u001b[5m"}`)},
			{"long_message", []byte(`{"message":"` + strings.Repeat("x", 70000) + `"}`)},
			{"truncated", []byte(`{"message":"abc`)},
		},
	}
}

// TestKibanaSeedCorpus requires testdata/fuzz/FuzzDecode{Find,Item,Error}
// to hold exactly the seeds kibanaSeeds generates; -update rewrites them.
func TestKibanaSeedCorpus(t *testing.T) {
	for target, seeds := range kibanaSeeds() {
		files := map[string][]byte{}
		for _, s := range seeds {
			if target == "FuzzDecodeError" {
				files["seed_"+s.name] = testkit.FuzzFile(400, s.data)
			} else {
				files["seed_"+s.name] = testkit.FuzzFile(s.data)
			}
		}
		testkit.CheckFiles(t, filepath.Join("testdata", "fuzz", target), "seed_", files)
	}
}
