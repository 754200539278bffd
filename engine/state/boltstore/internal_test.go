package boltstore

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// TestUpgradeHook installs a fake version-1→2 upgrade and checks that the
// first write to a version-1 file runs it exactly once, that readers refuse
// the old version until then, and that Init performs it.
func TestUpgradeHook(t *testing.T) {
	for _, how := range []string{"init", "write"} {
		t.Run(how, func(t *testing.T) {
			s := New(filepath.Join(t.TempDir(), "s.state"), Options{})
			if _, err := s.Init(); err != nil {
				t.Fatal(err)
			}
			saved := upgrades
			defer func() { upgrades = saved }()
			calls := 0
			upgrades = []func(tx *bolt.Tx) error{func(tx *bolt.Tx) error {
				calls++
				_, err := tx.CreateBucket([]byte("v2-extra"))
				return err
			}}
			_, err := s.Snapshot()
			ve, ok := err.(*state.VersionError)
			if !ok || ve.Found != 1 || ve.Supported != 2 {
				t.Fatalf("reading a v1 file with v2 code: %v", err)
			}
			switch how {
			case "init":
				if _, err := s.Init(); err != nil {
					t.Fatal(err)
				}
			case "write":
				w, err := s.Lock(context.Background(), state.LockOptions{Command: "apply"})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Commit(state.Commit{}); err != nil {
					t.Fatal(err)
				}
				w.Unlock()
			}
			st, err := s.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if st.FormatVersion != 2 || calls != 1 {
				t.Errorf("after upgrade: version %d, hook ran %d times; want 2, 1", st.FormatVersion, calls)
			}
			if _, err := s.Init(); err != nil || calls != 1 {
				t.Errorf("Init on an upgraded file: %v, hook ran %d times", err, calls)
			}
		})
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to every decoder of a stored
// record: none may panic, and whatever decodes must survive a round trip.
// Seeds live in testdata/fuzz/FuzzDecodeRecord.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"blocklist":"main","os":"windows","hash_type":"sha256","item":{"item_id":"lumuctl-p-main-1","name":"n","description":"","os_types":["windows"],"tags":null,"entries":null}}`))
	f.Add([]byte(`{"seq":3,"op":"update","item_id":"x","id":"so","expect_version":"v","item":{"item":{"item_id":"x"}},"time":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"seq":1,"time":"2025-01-01T00:00:00Z","who":"a@b","command":"apply","counts":{},"outcome":"success"}`))
	f.Add([]byte(`{"id":"7c40","company":"acme","filter":"f","last_contact":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"pid":12,"who":"a@b","command":"apply","started":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte{0x01, 0x80, 0x01, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip(t, "item", data, func(b []byte) (state.Item, error) { return decodeItem(b, nil) })
		// A list shared with an earlier record decodes the same.
		lists := provider.NewValueLists()
		if a, err := decodeItem(data, lists); err == nil {
			if b, err := decodeItem(data, lists); err != nil || !reflect.DeepEqual(a, b) {
				t.Errorf("item decoded again with shared lists: %+v, %v; first %+v", b, err, a)
			}
		}
		roundTrip(t, "journal", data, decodeJournal)
		roundTrip(t, "history", data, decodeHistory)
		roundTrip(t, "incident", data, decodeIncident)
		roundTrip(t, "applied", data, decodeApplied)
		if idx, err := decodeIndexes(data, 1<<20); err == nil {
			if got, err := decodeIndexes(encodeIndexes(idx), 1<<20); err != nil || !reflect.DeepEqual(got, idx) {
				t.Errorf("indexes %v: round trip gave %v, %v", idx, got, err)
			}
		}
		_, _ = decodeUint(data)
		_, _ = decodeSeqKey(data)
		_, _ = state.HashBytes(string(data))
	})
}

func roundTrip[T any](t *testing.T, name string, data []byte, decode func([]byte) (T, error)) {
	v, err := decode(data)
	if err != nil {
		return
	}
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: re-encode %+v: %v", name, v, err)
	}
	v2, err := decode(enc)
	if err != nil {
		t.Fatalf("%s: decode of re-encoded %s: %v", name, enc, err)
	}
	enc2, _ := json.Marshal(v2)
	if string(enc) != string(enc2) {
		t.Errorf("%s: round trip changed\n%s\n%s", name, enc, enc2)
	}
}
