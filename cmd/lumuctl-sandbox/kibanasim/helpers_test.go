package kibanasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const testKey = "dGVzdDprZXk="

type tserver struct {
	t   *testing.T
	s   *Server
	url string
}

func newTS(t *testing.T, opts Options) *tserver {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	s := New(opts)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &tserver{t: t, s: s, url: hs.URL}
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request with the headers lumuctl sends; drop names headers
// to leave out ("authorization", "kbn-xsrf", "content-type").
func (ts *tserver) do(method, path string, body any, drop ...string) resp {
	ts.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			ts.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, ts.url+path, rd)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Authorization", "ApiKey "+testKey)
	req.Header.Set("kbn-xsrf", "true")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, d := range drop {
		req.Header.Del(d)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// errBody is the error part of an answer, envelope-aware.
type errBody struct {
	Status  int
	Boom    bool
	Message string
}

func (r resp) err() errBody {
	if sc, ok := r.body["statusCode"].(float64); ok {
		return errBody{Status: int(sc), Boom: true, Message: fmt.Sprint(r.body["message"])}
	}
	if sc, ok := r.body["status_code"].(float64); ok {
		return errBody{Status: int(sc), Message: fmt.Sprint(r.body["message"])}
	}
	return errBody{Message: "not an error envelope: " + r.raw}
}

// hexOf is a distinct n-digit hex value for every seed.
func hexOf(n int, seed int) string { return fmt.Sprintf("%0*x", n, seed) }

func sha256s(n, from int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = hexOf(64, from+i)
	}
	return out
}

// blockItem is a valid blocklist create body; mutate it per test.
func blockItem(itemID string) map[string]any {
	return map[string]any{
		"list_id":        BlocklistListID,
		"item_id":        itemID,
		"namespace_type": "agnostic",
		"type":           "simple",
		"name":           "lumuctl ops windows sha256 1",
		"description":    "Managed by lumuctl",
		"os_types":       []string{"windows"},
		"tags":           []string{"policy:all"},
		"comments":       []any{},
		"entries": []map[string]any{{
			"field": "file.hash.sha256", "type": "match_any", "operator": "included",
			"value": sha256s(2, 1),
		}},
	}
}

func findPath(q url.Values) string { return "/api/exception_lists/items/_find?" + q.Encode() }

func agnosticFind(extra ...string) string {
	q := url.Values{"list_id": {BlocklistListID}, "namespace_type": {"agnostic"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return findPath(q)
}
