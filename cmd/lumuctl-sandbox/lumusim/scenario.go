package lumusim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// HashType is a digest family of the context endpoint's hash parameter.
type HashType string

// The hash types the context endpoint serves.
const (
	SHA256 HashType = "sha256"
	SHA1   HashType = "sha1"
	MD5    HashType = "md5"
)

// HashTypes lists every HashType, sha256 (the API default) first.
var HashTypes = []HashType{SHA256, SHA1, MD5}

// HexLen is the number of hex digits of a digest of this type (0 if unknown).
func (t HashType) HexLen() int {
	switch t {
	case SHA256:
		return 64
	case SHA1:
		return 40
	case MD5:
		return 32
	}
	return 0
}

// Incident statuses.
const (
	StatusOpen   = "open"
	StatusMuted  = "muted"
	StatusClosed = "closed"
)

// AdversaryTypes lists every adversary type the stand-in knows (SPEC section
// 2); a list body naming another type is rejected with 400.
var AdversaryTypes = []string{
	"C2C", "Malware", "DGA", "Mining", "Spam", "Phishing", "Anonymizer",
	"Network Scan", "Inappropriate content",
}

// Action is one entry of an incident's history, as served by details.
type Action struct {
	Datetime time.Time
	UserID   int
	Action   string // comment, mute, unmute, close, read, reopen
	Comment  string
}

// Incident is one Lumu incident with its context. Times are UTC; a time with
// a zero sub-second part is served without fraction ("...:59Z"), any other
// with milliseconds ("...:59.123Z").
type Incident struct {
	ID                  string // lower-case UUID (version 1 for generated ones)
	Timestamp           time.Time
	StatusTimestamp     time.Time
	Status              string // StatusOpen, StatusMuted or StatusClosed
	Contacts            int
	AdversaryID         string
	AdversaryTypes      []string
	Description         string
	LabelDistribution   map[string]int
	TotalEndpoints      int
	FirstContact        time.Time
	LastContact         time.Time
	Unread              bool
	HasPlaybackContacts bool
	Actions             []Action // newest first

	// Context fields.
	CurrentlyActive bool
	// OmitCurrentlyActive leaves currently_active out of the context
	// (Lumu's integrations read that as inactive).
	OmitCurrentlyActive bool
	// Rank is the context's rank; nil leaves it out (read as 900000).
	Rank *int
	// ContextNotFound makes the context answer 404 while the incident is
	// still listed (it vanished between the list and the read).
	ContextNotFound bool
	DeactivatedOn   time.Time // zero: deactivated_on absent
	ThreatDetails   []string
	ThreatTriggers  []string
	// RelatedFiles holds the raw related_files values per hash type, served
	// as is (malformed values included). Generated incidents leave it nil and
	// derive their values on demand (see Files).
	RelatedFiles map[HashType][]string

	gen *fileGen // non-nil for generated incidents with files
}

// Files returns the raw related_files values the context endpoint serves for
// hash type t (nil when the field is absent).
func (inc *Incident) Files(t HashType) []string {
	if inc.RelatedFiles != nil {
		return slices.Clone(inc.RelatedFiles[t])
	}
	if inc.gen != nil {
		return inc.gen.files(t)
	}
	return nil
}

// clone returns a deep copy. Generated files stay derived (fileGen is
// immutable).
func (inc *Incident) clone() *Incident {
	c := *inc
	c.AdversaryTypes = slices.Clone(inc.AdversaryTypes)
	c.ThreatDetails = slices.Clone(inc.ThreatDetails)
	c.ThreatTriggers = slices.Clone(inc.ThreatTriggers)
	c.Actions = slices.Clone(inc.Actions)
	if inc.LabelDistribution != nil {
		c.LabelDistribution = make(map[string]int, len(inc.LabelDistribution))
		for k, v := range inc.LabelDistribution {
			c.LabelDistribution[k] = v
		}
	}
	if inc.RelatedFiles != nil {
		c.RelatedFiles = make(map[HashType][]string, len(inc.RelatedFiles))
		for k, v := range inc.RelatedFiles {
			c.RelatedFiles[k] = slices.Clone(v)
		}
	}
	return &c
}

// Company is one Lumu tenant: its UUID, its Defender key and its incidents.
type Company struct {
	UUID      string
	Key       string // secret; never printed by this package
	Incidents []*Incident
}

// Scenario is a generated data set. Companies carry no Key: the caller sets
// one before handing them to New.
type Scenario struct {
	Name      string
	Seed      int64
	Now       time.Time
	Companies []Company
}

// Scenario names accepted by GenerateScenario.
const (
	ScenarioSmall = "small"
	ScenarioLarge = "large"
)

type scenarioParams struct {
	incidents        int
	filesMin         int // per hash type, for an incident that has files
	filesMax         int
	poolSize         int     // shared hashes per type
	poolFrac         float64 // share of values drawn from the pool
	malformedFrac    float64 // share of values that are malformed
	noFilesFrac      float64 // share of incidents without related_files at all
	noMD5Frac        float64 // share of incidents with files but no md5
	adversaryReuse   float64 // share of incidents reusing an earlier adversary
	lastContactRange time.Duration
}

var scenarios = map[string]scenarioParams{
	ScenarioSmall: {
		incidents: 50, filesMin: 1, filesMax: 5, poolSize: 15, poolFrac: 0.2,
		malformedFrac: 0.03, noFilesFrac: 0.15, noMD5Frac: 0.2, adversaryReuse: 0.1,
		lastContactRange: 40 * 24 * time.Hour,
	},
	ScenarioLarge: {
		incidents: 10000, filesMin: 5, filesMax: 13, poolSize: 3000, poolFrac: 0.1,
		malformedFrac: 0.005, noFilesFrac: 0.15, noMD5Frac: 0.2, adversaryReuse: 0.1,
		lastContactRange: 40 * 24 * time.Hour,
	},
}

// ScenarioNames lists the names GenerateScenario accepts.
func ScenarioNames() []string { return []string{ScenarioSmall, ScenarioLarge} }

// GenerateScenario builds the named scenario (ScenarioSmall or
// ScenarioLarge) for one company. The result depends only on (name, seed,
// now): incidents have version-1 UUIDs, statuses open/closed/muted, adversary
// types including DGA and types outside the default filters, lastContact
// spread over the 40 days before now, mostly currently_active, label
// distributions, hashes shared across incidents, a few malformed
// related_files values (upper case, surrounding whitespace, wrong length,
// non-hex) and some incidents without related_files. Hash values are derived
// on demand from (seed, incident index, hash type), so the large scenario
// (10,000 incidents, about 200,000 distinct hashes) stays small in memory.
func GenerateScenario(name string, seed int64, now time.Time) (*Scenario, error) {
	p, ok := scenarios[name]
	if !ok {
		return nil, fmt.Errorf("unknown scenario %q (want one of %s)", name, strings.Join(ScenarioNames(), ", "))
	}
	now = now.UTC()
	r := rand.New(rand.NewPCG(uint64(seed), 0x6c756d7573696d)) // "lumusim"
	companyUUID := randomUUID4(r)
	node := r.Uint64()&0xffffffffffff | 0x010000000000 // multicast bit: not a real MAC

	incs := make([]*Incident, 0, p.incidents)
	var adversaries []string
	for i := 0; i < p.incidents; i++ {
		inc := &Incident{}
		// Contacts and times.
		inc.LastContact = genTime(r, now.Add(-time.Duration(r.Int64N(int64(p.lastContactRange)))))
		inc.FirstContact = genTime(r, inc.LastContact.Add(-time.Duration(r.Int64N(int64(10*24*time.Hour)))))
		inc.Timestamp = genTime(r, inc.FirstContact.Add(time.Duration(r.Int64N(int64(20*time.Second)))))
		if inc.Timestamp.After(inc.LastContact) {
			inc.Timestamp = inc.LastContact
		}
		inc.ID = uuidV1(inc.Timestamp, uint16(i), node)
		inc.Contacts = 1 + r.IntN(200)
		inc.TotalEndpoints = 1 + r.IntN(min(inc.Contacts, 20))
		inc.LabelDistribution = genLabels(r, inc.Contacts)
		inc.Unread = r.IntN(4) == 0
		inc.HasPlaybackContacts = r.IntN(5) == 0

		// Adversary.
		if len(adversaries) > 0 && r.Float64() < p.adversaryReuse {
			inc.AdversaryID = adversaries[r.IntN(len(adversaries))]
		} else {
			inc.AdversaryID = genAdversary(r, i)
			adversaries = append(adversaries, inc.AdversaryID)
		}
		inc.AdversaryTypes = genTypes(r)
		inc.Description, inc.ThreatDetails = genDescription(r, inc.AdversaryTypes[0])
		inc.ThreatTriggers = genTriggers(r, inc.AdversaryID)

		// Status.
		inc.StatusTimestamp = inc.Timestamp
		switch x := r.IntN(10); {
		case x < 7:
			inc.Status = StatusOpen
		case x < 9:
			inc.Status = StatusClosed
		default:
			inc.Status = StatusMuted
		}
		if inc.Status != StatusOpen {
			span := now.Sub(inc.Timestamp)
			inc.StatusTimestamp = genTime(r, inc.Timestamp.Add(time.Duration(r.Int64N(int64(span)+1))))
			action := "close"
			if inc.Status == StatusMuted {
				action = "mute"
			}
			inc.Actions = []Action{{Datetime: inc.StatusTimestamp, Action: action, Comment: "generated"}}
		}

		// Context.
		inc.CurrentlyActive = r.IntN(10) != 0
		if !inc.CurrentlyActive {
			inc.DeactivatedOn = genTime(r, inc.LastContact.Add(time.Duration(r.Int64N(int64(48*time.Hour)))))
		}
		if r.Float64() >= p.noFilesFrac {
			inc.gen = &fileGen{seed: seed, index: i, p: &p, noMD5: r.Float64() < p.noMD5Frac}
		}
		incs = append(incs, inc)
	}
	sortIncidents(incs)
	return &Scenario{
		Name: name, Seed: seed, Now: now,
		Companies: []Company{{UUID: companyUUID, Incidents: incs}},
	}, nil
}

// sortIncidents orders incidents as lists serve them: lastContact, most
// recent first, ties by id.
func sortIncidents(incs []*Incident) { slices.SortFunc(incs, incidentOrder) }

// incidentOrder is the order of a company's incidents: newest lastContact
// first, then by id.
func incidentOrder(a, b *Incident) int {
	if c := b.LastContact.Compare(a.LastContact); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// genTime returns t truncated to milliseconds, or (one time in four) to
// seconds, so served timestamps mix both forms.
func genTime(r *rand.Rand, t time.Time) time.Time {
	if r.IntN(4) == 0 {
		return t.Truncate(time.Second)
	}
	t = t.Truncate(time.Millisecond)
	if t.Nanosecond() == 0 {
		t = t.Add(time.Millisecond)
	}
	return t
}

var labelIDs = []string{"0", "51", "112", "147", "548", "989", "1791", "2144", "4055"}

func genLabels(r *rand.Rand, contacts int) map[string]int {
	n := 1 + r.IntN(min(3, contacts))
	m := make(map[string]int, n)
	left := contacts
	for k := 0; k < n; k++ {
		id := labelIDs[r.IntN(len(labelIDs))]
		c := left
		if k < n-1 {
			c = 1 + r.IntN(max(1, left-(n-1-k)))
		}
		if c <= 0 {
			break
		}
		m[id] += c
		left -= c
	}
	return m
}

var (
	syllables = []string{"ka", "zo", "mi", "tre", "lux", "quo", "ban", "sel", "dor", "vip", "ne", "ra", "pol", "ix", "gur"}
	tlds      = []string{"com", "net", "org", "ru", "xyz", "top", "info", "io", "cn", "eu"}
)

func genAdversary(r *rand.Rand, i int) string {
	if r.IntN(5) == 0 {
		return fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(222), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	var b strings.Builder
	for k := 0; k < 2+r.IntN(2); k++ {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	return fmt.Sprintf("%s%d.%s", b.String(), i, tlds[r.IntN(len(tlds))])
}

// typeWeights gives each adversary type's share of generated incidents.
var typeWeights = []struct {
	t string
	w int
}{
	{"Malware", 30}, {"C2C", 20}, {"Phishing", 12}, {"Spam", 10}, {"Mining", 8},
	{"DGA", 8}, {"Anonymizer", 4}, {"Network Scan", 4}, {"Inappropriate content", 4},
}

func genTypes(r *rand.Rand) []string {
	pick := func() string {
		x := r.IntN(100)
		for _, tw := range typeWeights {
			if x < tw.w {
				return tw.t
			}
			x -= tw.w
		}
		return "Malware"
	}
	first := pick()
	types := []string{first}
	if r.IntN(6) == 0 {
		switch first {
		case "Malware":
			types = append(types, []string{"C2C", "Mining"}[r.IntN(2)])
		case "C2C", "DGA":
			types = append(types, "Malware")
		}
	}
	return types
}

var families = []string{"QakBot", "Agentemis", "CobaltStrike", "Emotet", "AsyncRAT", "Lumma", "RedLine", "IcedID"}

func genDescription(r *rand.Rand, typ string) (string, []string) {
	fam := families[r.IntN(len(families))]
	details := []string{fam}
	if r.IntN(3) == 0 {
		details = append(details, strings.ToLower(fam)+" ") // trailing space, as seen
	}
	switch typ {
	case "Malware", "C2C":
		if r.IntN(2) == 0 {
			return fam, details
		}
		return "Malware family " + fam, details
	case "Phishing":
		return "Phishing domain", nil
	case "Spam":
		return "Disposable email host", nil
	case "Mining":
		return "CryptoMining domain", []string{"XMRig"}
	case "DGA":
		return "DGA domain", details
	case "Anonymizer":
		return "Anonymizer", nil
	case "Network Scan":
		return "Network scanner", nil
	}
	return "Malicious domain", nil
}

func genTriggers(r *rand.Rand, adversary string) []string {
	switch r.IntN(3) {
	case 0:
		return []string{"https://" + adversary + "/" + syllables[r.IntN(len(syllables))] + ".php"}
	case 1:
		return []string{"tcp://" + adversary + ":" + strconv.Itoa(1024+r.IntN(60000))}
	}
	return []string{adversary}
}

// fileGen derives the related_files of one generated incident.
type fileGen struct {
	seed  int64
	index int
	p     *scenarioParams
	noMD5 bool
}

func (g *fileGen) files(t HashType) []string {
	if t.HexLen() == 0 || (t == MD5 && g.noMD5) {
		return nil
	}
	r := rand.New(rand.NewPCG(uint64(g.seed), uint64(g.index)<<8|uint64(t.HexLen())))
	n := g.p.filesMin + r.IntN(g.p.filesMax-g.p.filesMin+1)
	out := make([]string, 0, n)
	for j := 0; j < n; j++ {
		var v string
		if r.Float64() < g.p.poolFrac {
			v = deriveHash(g.seed, t, -1, r.IntN(g.p.poolSize))
		} else {
			v = deriveHash(g.seed, t, g.index, j)
		}
		if r.Float64() < g.p.malformedFrac {
			v = malform(r, v)
		}
		out = append(out, v)
	}
	return out
}

// deriveHash returns a lower-case hex value of t's length determined by
// (seed, t, index, j); index -1 is the shared pool.
func deriveHash(seed int64, t HashType, index, j int) string {
	var buf [32]byte
	binary.LittleEndian.PutUint64(buf[0:], uint64(seed))
	binary.LittleEndian.PutUint64(buf[8:], uint64(int64(index)))
	binary.LittleEndian.PutUint64(buf[16:], uint64(j))
	binary.LittleEndian.PutUint64(buf[24:], uint64(t.HexLen()))
	sum := sha256.Sum256(buf[:])
	return hex.EncodeToString(sum[:])[:t.HexLen()]
}

// malform damages a valid value the ways real feeds do: upper case or
// surrounding whitespace (valid after normalisation), a wrong length or a
// non-hex digit (invalid).
func malform(r *rand.Rand, v string) string {
	switch r.IntN(4) {
	case 0:
		return strings.ToUpper(v)
	case 1:
		return " " + v + "\n"
	case 2:
		return v[:len(v)-1]
	default:
		return v[:len(v)-1] + "z"
	}
}

// uuidV1 formats a version-1 (time-based) UUID for t with the given clock
// sequence and node.
func uuidV1(t time.Time, clockSeq uint16, node uint64) string {
	const gregorianOffset = 0x01B21DD213814000 // 100ns intervals 1582-10-15 → 1970-01-01
	ts := uint64(t.UnixNano()/100) + gregorianOffset
	timeLow := uint32(ts)
	timeMid := uint16(ts >> 32)
	timeHi := uint16(ts>>48)&0x0fff | 0x1000
	cs := clockSeq&0x3fff | 0x8000
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", timeLow, timeMid, timeHi, cs, node&0xffffffffffff)
}

// randomUUID4 formats a version-4 UUID from r.
func randomUUID4(r *rand.Rand) string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], r.Uint64())
	binary.LittleEndian.PutUint64(b[8:], r.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// isUUID reports whether s is a lower- or upper-case hex UUID in 8-4-4-4-12
// form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
