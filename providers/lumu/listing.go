package lumu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lumuctl/lumuctl/engine/provider"
)

// Two records of the cache serve the daily quota (SPEC 3), besides the
// per-key count of quota.go:
//
//   - the listing schedule of a key: per ioc_filter, how many list pages
//     its last complete listing took and when its last runs started. The
//     context reads of a run leave to the lists of the later runs of the
//     UTC day what they will cost: Σ over the key's filters of pages ×
//     the runs still to come today (the time left in the day divided by
//     the median interval between the filter's runs), at most half the
//     day's quota.
//   - the last complete listing of a filter: the kept incidents (the
//     fields provenance shows). When the quota, or a 429 past
//     retry_timeout, stops the listing itself, the run plans from it and
//     the contexts in the cache: the same hashes as the last run, every
//     incident counted as not read in this run, so nothing is added or
//     removed because of the quota and the run does not fail.
//
// Both live in the groups below (never a company UUID) of the same store
// as the incident records (the bbolt file or the shared backend).
const (
	groupSchedule = "lumuctl:list-schedule"
	groupListing  = "lumuctl:last-listing"
)

// scheduleKeep is how many run starts a filter's schedule remembers.
const scheduleKeep = 7

// filterSchedule is the listing history of one ioc_filter.
type filterSchedule struct {
	Pages  int         `json:"pages"`  // list pages of the last complete listing
	Starts []time.Time `json:"starts"` // the last run starts, oldest first
}

// interval is the median gap between the remembered run starts (0 when
// fewer than two runs are known; at least minInterval otherwise). The
// median ignores the odd manual run.
func (s filterSchedule) interval() time.Duration {
	if len(s.Starts) < 2 {
		return 0
	}
	gaps := make([]time.Duration, 0, len(s.Starts)-1)
	for i := 1; i < len(s.Starts); i++ {
		gaps = append(gaps, s.Starts[i].Sub(s.Starts[i-1]))
	}
	slices.Sort(gaps)
	return max(gaps[len(gaps)/2], minInterval)
}

// minInterval is the shortest interval the schedule assumes: runs back to
// back (a test, a manual retry) do not mean a thousand runs a day.
const minInterval = time.Minute

// laterRuns is how many more runs of the filter the UTC day of now will
// see: the time left in the day divided by its interval. A filter whose
// interval is unknown (its first run), or whose runs stopped (the last
// one more than two intervals ago), counts none.
func (s filterSchedule) laterRuns(now time.Time) int {
	every := s.interval()
	if every <= 0 || len(s.Starts) == 0 || now.Sub(s.Starts[len(s.Starts)-1]) > 2*every {
		return 0
	}
	now = now.UTC()
	left := now.Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)
	return int(left / every)
}

// schedule is the record of one key: filter id → schedule.
type schedule map[string]filterSchedule

// loadSchedule reads the key's schedule (empty when none or unreadable).
func (q *dailyQuota) loadSchedule() {
	if q.sched != nil {
		return
	}
	q.sched = schedule{}
	if q.cache == nil {
		return
	}
	if raw, err := q.cache.loadRaw(groupSchedule, q.key); err == nil && raw != nil {
		_ = json.Unmarshal(raw, &q.sched)
		if q.sched == nil {
			q.sched = schedule{}
		}
	}
}

// noteStart records that a run of filter fid starts at now, and returns
// the pages its last complete listing took (0: unknown).
func (q *dailyQuota) noteStart(fid string, now time.Time) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loadSchedule()
	s := q.sched[fid]
	s.Starts = append(s.Starts, now.UTC())
	if len(s.Starts) > scheduleKeep {
		s.Starts = slices.Clone(s.Starts[len(s.Starts)-scheduleKeep:])
	}
	q.sched[fid] = s
	q.schedDirty = true
	return s.Pages
}

// notePages records the pages of a complete listing of filter fid.
func (q *dailyQuota) notePages(fid string, pages int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loadSchedule()
	s := q.sched[fid]
	s.Pages = pages
	q.sched[fid] = s
	q.schedDirty = true
}

// listReserve is what the context reads leave today for the lists of the
// later runs of every filter of the key (see the comment at the top), at
// most half the day's quota: the contexts of a cold start always get the
// other half, less the lists already read (runs back to back, or lists
// costlier than the day's quota, would otherwise reserve everything every
// day); a later run that then finds too little for its list plans from the
// last complete one.
func (q *dailyQuota) listReserve(now time.Time) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sync()
	q.loadSchedule()
	n := 0
	for _, s := range q.sched {
		n += s.Pages * s.laterRuns(now)
	}
	return min(n, q.limit/2)
}

// saveSchedule writes the schedule when it changed.
func (q *dailyQuota) saveSchedule() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.schedDirty || q.cache == nil {
		return nil
	}
	// Forget filters not run for a week (removed from the configuration).
	for id, s := range q.sched {
		if len(s.Starts) == 0 || q.now().Sub(s.Starts[len(s.Starts)-1]) > 7*24*time.Hour {
			delete(q.sched, id)
		}
	}
	data, err := json.Marshal(q.sched)
	if err != nil {
		return err
	}
	if err := q.cache.storeRaw(groupSchedule, q.key, data); err != nil {
		return err
	}
	q.schedDirty = false
	return nil
}

// filterID names what a listing depends on: the company and the filter's
// list parameters. A changed filter has no last listing.
func filterID(co provider.Company, fl provider.Filter) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(co.UUID))
	b.WriteByte(0)
	b.WriteString(fl.Name)
	b.WriteByte(0)
	b.WriteString(strconv.Itoa(fl.Days))
	for _, part := range [][]string{fl.Statuses, fl.AdversaryTypes} {
		b.WriteByte(0)
		b.WriteString(strings.Join(slices.Sorted(slices.Values(part)), ","))
	}
	b.WriteByte(0)
	for _, l := range slices.Sorted(slices.Values(fl.Labels)) {
		b.WriteString(strconv.Itoa(l) + ",")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// listedIncident is one kept incident of a stored listing.
type listedIncident struct {
	ID             string    `json:"id"`
	AdversaryID    string    `json:"adversary_id,omitempty"`
	AdversaryTypes []string  `json:"adversary_types,omitempty"`
	Description    string    `json:"description,omitempty"`
	LastContact    time.Time `json:"last_contact"`
	Contacts       int64     `json:"contacts"`
	Status         string    `json:"status"`
}

// lastListing is the last complete listing of a filter.
type lastListing struct {
	At        time.Time        `json:"at"`
	Incidents []listedIncident `json:"incidents"`
}

// storeListing keeps the kept incidents of a complete listing, unless the
// stored one is the same (the digest record says so).
func (c *cache) storeListing(fid string, at time.Time, kept []*Incident) error {
	if c == nil {
		return nil
	}
	l := lastListing{At: at.UTC(), Incidents: make([]listedIncident, len(kept))}
	for i, in := range kept {
		l.Incidents[i] = listedIncident{ID: in.ID, AdversaryID: in.AdversaryID, AdversaryTypes: in.AdversaryTypes,
			Description: in.Description, LastContact: in.LastContact.Time, Contacts: in.Contacts, Status: in.Status}
	}
	// The digest leaves out the time: the same incidents need no write.
	body, err := json.Marshal(l.Incidents)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	if old, err := c.loadRaw(groupListing, fid+".digest"); err == nil && string(old) == digest {
		return nil
	}
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if err := c.storeRaw(groupListing, fid, data); err != nil {
		return err
	}
	return c.storeRaw(groupListing, fid+".digest", []byte(digest))
}

// loadListing returns the last complete listing of a filter, or nil.
func (c *cache) loadListing(fid string) (*lastListing, error) {
	if c == nil {
		return nil, nil
	}
	raw, err := c.loadRaw(groupListing, fid)
	if err != nil || raw == nil {
		return nil, err
	}
	var l lastListing
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("the last listing in the cache is unreadable: %w", err)
	}
	return &l, nil
}

// incidents turns a stored listing back into kept incidents.
func (l *lastListing) incidents() []*Incident {
	out := make([]*Incident, len(l.Incidents))
	for i, li := range l.Incidents {
		out[i] = &Incident{ID: li.ID, AdversaryID: li.AdversaryID, AdversaryTypes: li.AdversaryTypes,
			Description: li.Description, LastContact: Time{li.LastContact}, Contacts: li.Contacts, Status: li.Status}
	}
	return out
}

// loadRaw reads one record of a group (nil when absent).
func (c *cache) loadRaw(group, id string) (out []byte, err error) {
	if c == nil {
		return nil, nil
	}
	if c.ext != nil {
		m, err := c.ext.Load(group, []string{id})
		if err != nil {
			return nil, err
		}
		return m[id], nil
	}
	err = c.viewGroup(group, func(b *bolt.Bucket) {
		if v := b.Get([]byte(id)); v != nil {
			out = slices.Clone(v)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// storeRaw writes one record of a group.
func (c *cache) storeRaw(group, id string, data []byte) (err error) {
	if c == nil {
		return nil
	}
	if c.ext != nil {
		return c.ext.Store(group, map[string][]byte{id: data})
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("writing the cache %s: %v", c.path, r)
		}
	}()
	return c.db.Update(func(tx *bolt.Tx) error {
		b, err := writableGroup(tx, group)
		if err != nil {
			return err
		}
		return b.Put([]byte(id), data)
	})
}
