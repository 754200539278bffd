package lumusim

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func BenchmarkGenerateLarge(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateScenario(ScenarioLarge, 1, testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListAndContextsLarge serves one full listing (100 pages of 100)
// of the large scenario, then the sha256 context of every incident.
func BenchmarkListAndContextsLarge(b *testing.B) {
	sc, err := GenerateScenario(ScenarioLarge, 1, testNow)
	if err != nil {
		b.Fatal(err)
	}
	sc.Companies[0].Key = keyA
	s := New(Options{Scenario: sc})
	ids := make([]string, 0, 10000)
	for _, inc := range sc.Companies[0].Incidents {
		ids = append(ids, inc.ID)
	}
	for b.Loop() {
		for page := 1; page <= 100; page++ {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("POST", "/api/incidents/all?items=100&key="+keyA+"&page="+itoa(page), strings.NewReader("{}")))
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
		for _, id := range ids {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, httptest.NewRequest("GET", "/api/incidents/"+id+"/context?key="+keyA, nil))
			if w.Code != 200 {
				b.Fatal(w.Code)
			}
		}
	}
}
