package lumusim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// snapshot projects a scenario onto comparable data (incident fields and
// every served related_files value).
type snapIncident struct {
	ID, Status, AdversaryID, Description string
	Types                                []string
	LastContact, StatusTimestamp         time.Time
	Labels                               map[string]int
	Active                               bool
	Files                                map[HashType][]string
}

func snapshot(sc *Scenario) []snapIncident {
	var out []snapIncident
	for _, c := range sc.Companies {
		for _, inc := range c.Incidents {
			files := map[HashType][]string{}
			for _, t := range HashTypes {
				files[t] = inc.Files(t)
			}
			out = append(out, snapIncident{inc.ID, inc.Status, inc.AdversaryID, inc.Description, inc.AdversaryTypes,
				inc.LastContact, inc.StatusTimestamp, inc.LabelDistribution, inc.CurrentlyActive, files})
		}
	}
	return out
}

func TestScenarioDeterminism(t *testing.T) {
	for _, name := range []string{ScenarioSmall, ScenarioLarge} {
		t.Run(name, func(t *testing.T) {
			if name == ScenarioLarge && testing.Short() {
				t.Skip("large scenario in -short mode")
			}
			a, err := GenerateScenario(name, 7, testNow)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := GenerateScenario(name, 7, testNow)
			if name == ScenarioSmall {
				if diff := cmp.Diff(snapshot(a), snapshot(b)); diff != "" {
					t.Errorf("same seed, different data (-a +b):\n%s", diff)
				}
			} else if digest(snapshot(a)) != digest(snapshot(b)) {
				t.Errorf("same seed, different data")
			}
			c, _ := GenerateScenario(name, 8, testNow)
			if digest(snapshot(a)) == digest(snapshot(c)) {
				t.Errorf("seeds 7 and 8 generated the same data")
			}
			if a.Companies[0].UUID == c.Companies[0].UUID {
				t.Errorf("seeds 7 and 8 share the company uuid")
			}
		})
	}
	if _, err := GenerateScenario("huge", 1, testNow); err == nil || !strings.Contains(err.Error(), "small") {
		t.Errorf("unknown scenario: err = %v, want one naming the valid scenarios", err)
	}
}

var v1UUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// stats summarises a scenario.
type stats struct {
	incidents, noFiles, inactive, beyond30 int
	statuses, types                        map[string]int
	valid                                  map[string]int // normalised value → incidents serving it
	needsNormalising, invalid              int
	fraction, whole                        int
	ids                                    map[string]bool
	badIDs                                 []string
}

func scenarioStats(sc *Scenario) stats {
	st := stats{statuses: map[string]int{}, types: map[string]int{}, valid: map[string]int{}, ids: map[string]bool{}}
	for _, inc := range sc.Companies[0].Incidents {
		st.incidents++
		st.statuses[inc.Status]++
		for _, t := range inc.AdversaryTypes {
			st.types[t]++
		}
		if !inc.CurrentlyActive {
			st.inactive++
		}
		if sc.Now.Sub(inc.LastContact) > 30*24*time.Hour {
			st.beyond30++
		}
		if inc.LastContact.Nanosecond() == 0 {
			st.whole++
		} else {
			st.fraction++
		}
		if !v1UUID.MatchString(inc.ID) || st.ids[inc.ID] {
			st.badIDs = append(st.badIDs, inc.ID)
		}
		st.ids[inc.ID] = true
		any := false
		for _, ht := range HashTypes {
			for _, v := range inc.Files(ht) {
				any = true
				n := strings.ToLower(strings.TrimSpace(v))
				if n != v {
					st.needsNormalising++
				}
				if len(n) != ht.HexLen() || strings.Trim(n, "0123456789abcdef") != "" {
					st.invalid++
					continue
				}
				st.valid[n]++
			}
		}
		if !any {
			st.noFiles++
		}
	}
	return st
}

func checkShape(t *testing.T, st stats, wantIncidents, minHashes, maxHashes int) {
	t.Helper()
	if st.incidents != wantIncidents {
		t.Errorf("incidents = %d, want %d", st.incidents, wantIncidents)
	}
	if len(st.badIDs) > 0 {
		t.Errorf("%d ids are not unique version-1 UUIDs, e.g. %q", len(st.badIDs), st.badIDs[0])
	}
	for _, s := range []string{StatusOpen, StatusClosed, StatusMuted} {
		if st.statuses[s] == 0 {
			t.Errorf("no %s incident", s)
		}
	}
	if st.statuses[StatusOpen] < st.incidents/2 {
		t.Errorf("only %d of %d incidents open", st.statuses[StatusOpen], st.incidents)
	}
	if st.types["DGA"] == 0 || st.types["Network Scan"]+st.types["Inappropriate content"]+st.types["Anonymizer"] == 0 {
		t.Errorf("types %v lack DGA or a type outside the default filters", st.types)
	}
	if st.noFiles == 0 || st.inactive == 0 || st.beyond30 == 0 {
		t.Errorf("noFiles=%d inactive=%d beyond30=%d, want some of each", st.noFiles, st.inactive, st.beyond30)
	}
	if st.inactive*2 > st.incidents {
		t.Errorf("%d of %d incidents inactive, want mostly active", st.inactive, st.incidents)
	}
	if st.whole == 0 || st.fraction == 0 {
		t.Errorf("lastContact: %d without fraction, %d with; want both", st.whole, st.fraction)
	}
	if st.needsNormalising == 0 || st.invalid == 0 {
		t.Errorf("malformed values: %d need normalising, %d invalid; want some of each", st.needsNormalising, st.invalid)
	}
	shared := 0
	for _, n := range st.valid {
		if n > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Errorf("no hash is shared by two incidents")
	}
	if len(st.valid) < minHashes || len(st.valid) > maxHashes {
		t.Errorf("distinct valid hashes = %d, want %d..%d", len(st.valid), minHashes, maxHashes)
	}
}

func TestScenarioSmall(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		sc, err := GenerateScenario(ScenarioSmall, seed, testNow)
		if err != nil {
			t.Fatal(err)
		}
		st := scenarioStats(sc)
		t.Logf("seed %d: %d distinct valid hashes, %d malformed, statuses %v", seed, len(st.valid), st.invalid+st.needsNormalising, st.statuses)
		checkShape(t, st, 50, 150, 600)
	}
}

func TestScenarioLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large scenario in -short mode")
	}
	sc, err := GenerateScenario(ScenarioLarge, 1, testNow)
	if err != nil {
		t.Fatal(err)
	}
	st := scenarioStats(sc)
	t.Logf("large: %d incidents, %d distinct valid hashes, %d need normalising, %d invalid", st.incidents, len(st.valid), st.needsNormalising, st.invalid)
	checkShape(t, st, 10000, 180000, 220000)
}

// The served list is the scenario's, and a scenario's files are what the
// context endpoint serves.
func TestScenarioServed(t *testing.T) {
	sc, _ := GenerateScenario(ScenarioSmall, 1, testNow)
	sc.Companies[0].Key = keyA
	_, ts := start(t, Options{Scenario: sc})
	var ids []string
	for page := 1; ; page++ {
		p := decode[listPage](t, do(t, "POST", ts.URL+"/api/incidents/all?items=20&key="+keyA+"&page="+itoa(page), "{}"))
		ids = append(ids, p.ids()...)
		if p.PaginationInfo["next"] == 0 {
			break
		}
	}
	var want []string
	for _, inc := range sc.Companies[0].Incidents {
		want = append(want, inc.ID)
	}
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("listed ids (-want +got):\n%s", diff)
	}
	inc := sc.Companies[0].Incidents[0]
	got := decode[struct {
		RelatedFiles []string `json:"related_files"`
	}](t, do(t, "GET", ts.URL+"/api/incidents/"+inc.ID+"/context?hash=sha1&key="+keyA, ""))
	if diff := cmp.Diff(inc.Files(SHA1), got.RelatedFiles, cmpNilEmpty); diff != "" {
		t.Errorf("related_files (-want +got):\n%s", diff)
	}
}

var cmpNilEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
})

func itoa(i int) string { return strconv.Itoa(i) }

// digest hashes a snapshot: cmp.Diff over the large scenario is slow.
func digest(s []snapIncident) string {
	h := sha256.New()
	for _, inc := range s {
		fmt.Fprintf(h, "%v\n", inc)
	}
	return hex.EncodeToString(h.Sum(nil))
}
