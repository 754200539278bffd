package lumu

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/testkit"
)

// TestHostileListAnswers runs the listing against servers that answer with
// hostile bodies. Each must end with a clear error (or a bounded result)
// and allocate a bounded amount, whatever the size of the body.
func TestHostileListAnswers(t *testing.T) {
	const id = "a0664d30-94d4-11ed-b0f8-a7e340234a4e"
	cases := []struct {
		name     string
		maxBody  int64 // ClientConfig.MaxBodyBytes (0: default)
		handler  http.HandlerFunc
		wantErr  string // substring; "" = success
		maxAlloc uint64
	}{
		{
			name:    "300 MB page, 8 MB bound",
			maxBody: 8 * testkit.MB,
			handler: func(w http.ResponseWriter, r *http.Request) {
				testkit.StreamBody(w, `{"items":[`, ' ', 300*testkit.MB, `]}`)
			},
			wantErr:  "larger than 8388608 bytes; refusing to read it",
			maxAlloc: 64 * testkit.MB,
		},
		{
			name: "300 MB page, default bound",
			handler: func(w http.ResponseWriter, r *http.Request) {
				testkit.StreamBody(w, `{"items":[`, ' ', 300*testkit.MB, `]}`)
			},
			wantErr: "larger than 67108864 bytes; refusing to read it",
			// io.ReadAll keeps the chunks and copies them once: about twice
			// the bound, far below the 300 MB sent.
			maxAlloc: 3 * DefaultMaxBodyBytes,
		},
		{
			name:    "100,000 levels of [",
			handler: func(w http.ResponseWriter, r *http.Request) { testkit.StreamBody(w, `{"items":`, '[', 100000, ``) },
			wantErr: "not a valid incident list",
			// the body is 100 kB; the decoder stops at its depth limit
			maxAlloc: 16 * testkit.MB,
		},
		{
			name:    "100 MB description",
			maxBody: 8 * testkit.MB,
			handler: func(w http.ResponseWriter, r *http.Request) {
				testkit.StreamBody(w, `{"items":[{"id":"`+id+`","description":"`, 'x', 100*testkit.MB, `"}]}`)
			},
			wantErr:  "larger than 8388608 bytes",
			maxAlloc: 64 * testkit.MB,
		},
		{
			name: "paginationInfo.next loops to an earlier page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, map[string]any{"items": []map[string]any{{"id": id}}, "paginationInfo": map[string]int{"page": 2, "next": 1}})
			},
			wantErr:  "announced page 1 as the next page; stopping instead of looping",
			maxAlloc: 16 * testkit.MB,
		},
		{
			name: "paginationInfo.next always ahead with the same incidents",
			handler: func(w http.ResponseWriter, r *http.Request) {
				page := r.URL.Query().Get("page")
				writeJSON(w, map[string]any{"items": []map[string]any{{"id": id}}, "paginationInfo": map[string]any{"next": len(page) + 1000}})
			},
			wantErr:  "repeated incidents it had already listed",
			maxAlloc: 16 * testkit.MB,
		},
		{
			name: "control characters in description and types come back as data",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, map[string]any{"items": []map[string]any{{"id": strings.ToUpper(id),
					"description": "\x1b[2J\x1b]0;owned\x07", "adversaryTypes": []string{"\x1b[31mMalware"}}}})
			},
			maxAlloc: 16 * testkit.MB,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.maxAlloc > testkit.HeavyAlloc && testkit.RaceBuild() {
				t.Skip("reads hundreds of MB; allocation is only measured without -race")
			}
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := testClient(t, srv, newFakeClock(), func(cfg *ClientConfig) { cfg.MaxBodyBytes = tc.maxBody; cfg.MaxPages = 50 })
			var (
				res ListResult
				err error
			)
			alloc := testkit.AllocDuring(func() { res, err = c.ListIncidents(context.Background(), ListQuery{}, nil) })
			t.Logf("allocated %.1f MB", float64(alloc)/testkit.MB)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			if err != nil {
				assertNoKey(t, err.Error())
				if len(err.Error()) > 1024 {
					t.Errorf("error of %d bytes", len(err.Error()))
				}
			}
			if alloc > tc.maxAlloc {
				t.Errorf("allocated %d MB, want at most %d MB", alloc/testkit.MB, tc.maxAlloc/testkit.MB)
			}
			if tc.wantErr == "" && (len(res.Incidents) != 1 || res.Incidents[0].ID != id) {
				t.Errorf("incidents = %+v", res.Incidents)
			}
		})
	}
}

// TestHostileContextAnswers does the same for the context endpoint.
func TestHostileContextAnswers(t *testing.T) {
	cases := []struct {
		name     string
		handler  http.HandlerFunc
		wantErr  string
		maxAlloc uint64
	}{
		{
			name: "300 MB context",
			handler: func(w http.ResponseWriter, r *http.Request) {
				testkit.StreamBody(w, `{"related_files":["`, 'a', 300*testkit.MB, `"]}`)
			},
			wantErr:  "larger than 8388608 bytes",
			maxAlloc: 64 * testkit.MB,
		},
		{
			name: "100,000 levels of [",
			handler: func(w http.ResponseWriter, r *http.Request) {
				testkit.StreamBody(w, `{"related_files":`, '[', 100000, ``)
			},
			wantErr:  "not a valid incident context",
			maxAlloc: 16 * testkit.MB,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := testClient(t, srv, newFakeClock(), func(cfg *ClientConfig) { cfg.MaxBodyBytes = 8 * testkit.MB })
			var err error
			alloc := testkit.AllocDuring(func() {
				_, err = c.Context(context.Background(), "a0664d30-94d4-11ed-b0f8-a7e340234a4e", provider.SHA256)
			})
			t.Logf("allocated %.1f MB", float64(alloc)/testkit.MB)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
			}
			assertNoKey(t, err.Error())
			if alloc > tc.maxAlloc {
				t.Errorf("allocated %d MB, want at most %d MB", alloc/testkit.MB, tc.maxAlloc/testkit.MB)
			}
		})
	}
}
