package lumu

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrQuotaExhausted says the key's daily quota (requests_per_day, counted
// per UTC day) admits no more request. The request was not sent.
var ErrQuotaExhausted = errors.New("the Lumu daily quota (requests_per_day) is used up for today (UTC)")

// quotaStore keeps how many Lumu requests were counted for a key (a digest
// of it, never the key) on a UTC day. The bbolt cache implements it; a
// shared state backend can too. Only the current day matters: storing a new
// day may forget the others.
type quotaStore interface {
	quotaUsed(key, day string) (int, error)
	setQuotaUsed(key, day string, n int) error
}

// memQuotas is the quotaStore of a Source without a usable cache: it counts
// within this process only.
type memQuotas struct {
	mu sync.Mutex
	m  map[string]quotaRecord
}

func (m *memQuotas) quotaUsed(key, day string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.m[key]; ok && r.Day == day {
		return r.Used, nil
	}
	return 0, nil
}

func (m *memQuotas) setQuotaUsed(key, day string, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]quotaRecord{}
	}
	m.m[key] = quotaRecord{Day: day, Used: n}
	return nil
}

// quotaRecord is the stored count of one key.
type quotaRecord struct {
	Day  string `json:"day"` // UTC, 2006-01-02
	Used int    `json:"used"`
}

var bucketQuota = []byte("quota")

func (c *cache) quotaUsed(key, day string) (n int, err error) {
	if c.ext != nil {
		return c.ext.QuotaUsed(key, day)
	}
	err = c.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketQuota)
		if b == nil {
			return nil
		}
		var r quotaRecord
		if v := b.Get([]byte(key)); v != nil && json.Unmarshal(v, &r) == nil && r.Day == day {
			n = r.Used
		}
		return nil
	})
	return n, err
}

func (c *cache) setQuotaUsed(key, day string, n int) error {
	if c.ext != nil {
		return c.ext.SetQuotaUsed(key, day, n)
	}
	data, err := json.Marshal(quotaRecord{Day: day, Used: n})
	if err != nil {
		return err
	}
	return c.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketQuota)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), data)
	})
}

// quotaBlock is how many requests are reserved in the store at a time:
// the store is written once per block, ahead of the requests, so a process
// killed in the middle of a block has counted too many, never too few.
const quotaBlock = 20

// dailyQuota counts the requests of one key per UTC day against its
// limit. It is shared by every fetch that uses the key.
type dailyQuota struct {
	mu       sync.Mutex
	key      string
	limit    int
	store    quotaStore
	now      func() time.Time
	day      string
	used     int // requests counted today, by earlier runs and this one
	reserved int // what the store says (>= used)
	storeErr error

	cache      *cache   // the listing schedule's store (nil: none)
	sched      schedule // loaded on first use
	schedDirty bool
}

func quotaKey(apiKey string) string {
	sum := sha256.Sum256([]byte("lumuctl quota\x00" + apiKey))
	return hex.EncodeToString(sum[:16])
}

// sync loads the day's count when the UTC day changed; q.mu is held.
func (q *dailyQuota) sync() {
	day := q.now().UTC().Format("2006-01-02")
	if day == q.day {
		return
	}
	q.day, q.used, q.reserved = day, 0, 0
	n, err := q.store.quotaUsed(q.key, day)
	if err != nil {
		q.storeErr = err
		return
	}
	q.used, q.reserved = n, n
}

// take counts one request, unless fewer than headroom+1 requests are left
// today: then it returns ErrQuotaExhausted.
func (q *dailyQuota) take(headroom int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sync()
	if q.used+1 > q.limit-headroom {
		return ErrQuotaExhausted
	}
	if q.used+1 > q.reserved {
		r := min(q.limit, q.used+quotaBlock)
		if err := q.store.setQuotaUsed(q.key, q.day, r); err != nil {
			q.storeErr = err // counted in memory for this process
		}
		q.reserved = r
	}
	q.used++
	return nil
}

// reserve counts n requests at once, unless fewer than headroom+n are
// left today: then it counts none and returns ErrQuotaExhausted. The
// context reads of one incident are reserved together, in the order the
// incidents are read (newest lastContact first), so which incidents get
// the last requests of the day does not depend on goroutine scheduling.
func (q *dailyQuota) reserve(n, headroom int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sync()
	if q.used+n > q.limit-headroom {
		return ErrQuotaExhausted
	}
	if q.used+n > q.reserved {
		r := min(q.limit, q.used+max(n, quotaBlock))
		if err := q.store.setQuotaUsed(q.key, q.day, r); err != nil {
			q.storeErr = err
		}
		q.reserved = r
	}
	q.used += n
	return nil
}

// giveBack returns n reserved requests that were not sent (an only_active
// incident skipped after its first context, a read stopped part-way).
func (q *dailyQuota) giveBack(n int) {
	if n <= 0 {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.used = max(0, q.used-n)
}

// left is how many requests are left today.
func (q *dailyQuota) left() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sync()
	return max(0, q.limit-q.used)
}

// flush stores the exact count (giving back the unused reservation).
func (q *dailyQuota) flush() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.day == "" || q.reserved == q.used {
		return q.takeErr()
	}
	if err := q.store.setQuotaUsed(q.key, q.day, q.used); err != nil {
		q.storeErr = err
	} else {
		q.reserved = q.used
	}
	return q.takeErr()
}

func (q *dailyQuota) takeErr() error {
	err := q.storeErr
	q.storeErr = nil
	if err != nil {
		return fmt.Errorf("the daily request count could not be stored in the cache (%v); it is counted in this process only", err)
	}
	return nil
}
