package boltstore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/statetest"
)

// populated returns a store with items, provenance, history, a digest and a
// pending journal entry.
func populated(t *testing.T) *boltstore.Store {
	t.Helper()
	s := statetest.MustOpen(t)
	w := mustLock(t, s)
	var items []state.Item
	prov := state.HashIncidents{}
	for i := range 50 {
		items = append(items, sampleItem("main", "windows", i))
		prov[hashN(i, 64)] = []provider.IncidentRef{{ID: "inc-" + hashN(i%7, 8), Company: "acme", Filter: "malware"}}
	}
	if _, err := w.Commit(state.Commit{Put: items, Provenance: map[string]state.HashIncidents{"main": prov},
		AppliedDigest: "d1", History: &state.HistoryEntry{Who: "a@b", Command: "apply", Outcome: state.OutcomeSuccess}}); err != nil {
		t.Fatal(err)
	}
	it := sampleItem("main", "linux", 99)
	if _, err := w.JournalBegin(state.JournalEntry{Op: provider.Create, ItemID: it.Item.ItemID, Item: &it}); err != nil {
		t.Fatal(err)
	}
	if err := w.Unlock(); err != nil {
		t.Fatal(err)
	}
	return s
}

// readAll runs every reader, as plan, show, why and history do.
func readAll(s *boltstore.Store) error {
	if _, err := s.Snapshot(); err != nil {
		return err
	}
	if _, err := s.History(); err != nil {
		return err
	}
	if _, err := s.PendingJournal(); err != nil {
		return err
	}
	if _, err := s.Provenance("main", hashN(3, 64)); err != nil {
		return err
	}
	_, err := s.ProvenanceAll(hashN(3, 64))
	return err
}

func TestReadersLeaveFileUntouched(t *testing.T) {
	s := populated(t)
	before, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	past := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(s.Path(), past, past); err != nil {
		t.Fatal(err)
	}
	if err := readAll(s); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Error("reading changed the state file's bytes")
	}
	fi, err := os.Stat(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(past) {
		t.Errorf("reading changed the mtime to %v", fi.ModTime())
	}
}

func TestMissingFileReadsEmpty(t *testing.T) {
	dir := t.TempDir()
	s := boltstore.New(filepath.Join(dir, "sub", "lumuctl.state"), boltstore.Options{})
	st, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := &state.State{Items: map[string]state.Item{}, Applied: map[string]time.Time{}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("empty snapshot (-want +got):\n%s", diff)
	}
	if err := readAll(s); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("readers created %v", entries)
	}
	created, err := s.Init()
	if err != nil || !created {
		t.Fatalf("Init = %v, %v; want true, nil", created, err)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		t.Errorf("Init did not create the file: %v", err)
	}
}

func TestBackup(t *testing.T) {
	s := populated(t)
	w := mustLock(t, s)
	if err := os.WriteFile(s.BackupPath(), []byte("old backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Backup(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.BackupPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	b := boltstore.New(s.BackupPath(), boltstore.Options{})
	if err := b.Check(); err != nil {
		t.Fatalf("backup integrity: %v", err)
	}
	for name, read := range map[string]func(*boltstore.Store) (any, error){
		"snapshot":   func(x *boltstore.Store) (any, error) { return x.Snapshot() },
		"history":    func(x *boltstore.Store) (any, error) { return x.History() },
		"provenance": func(x *boltstore.Store) (any, error) { return x.ProvenanceAll(hashN(3, 64)) },
	} {
		t.Run(name, func(t *testing.T) {
			want, err1 := read(s)
			got, err2 := read(b)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("backup differs (-state +backup):\n%s", diff)
			}
		})
	}
	matches, _ := filepath.Glob(s.BackupPath() + ".tmp*")
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

// rawUpdate edits the bbolt file directly, as a tamperer would.
func rawUpdate(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func put(bucket []string, key, value string) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket[0]))
		for _, name := range bucket[1:] {
			b = b.Bucket([]byte(name))
		}
		return b.Put([]byte(key), []byte(value))
	}
}

func TestCorruptFiles(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		want   string
	}{
		{"not bbolt", func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("this is not a database\n"), 1000), 0o600)
		}, "cannot open as a bbolt database"},
		{"empty file", func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) }, "cannot open"},
		{"truncated", func(t *testing.T, path string) {
			fi, _ := os.Stat(path)
			os.Truncate(path, fi.Size()/3)
		}, "corrupt"},
		{"bad item JSON", func(t *testing.T, path string) {
			rawUpdate(t, path, put([]string{"items"}, "lumuctl-prod-main-x", `{"item": {"item_id": `))
		}, `items["lumuctl-prod-main-x"]: invalid JSON`},
		{"item under the wrong key", func(t *testing.T, path string) {
			rawUpdate(t, path, put([]string{"items"}, "lumuctl-prod-main-x", `{"item": {"item_id": "other"}}`))
		}, `record has item_id "other"`},
		{"bad journal op", func(t *testing.T, path string) {
			rawUpdate(t, path, put([]string{"journal"}, "\x00\x00\x00\x00\x00\x00\x00\x01", `{"seq":1,"op":"explode","item_id":"x"}`))
		}, `unknown action "explode"`},
		{"bad serial", func(t *testing.T, path string) { rawUpdate(t, path, put([]string{"meta"}, "serial", "many")) }, "meta serial"},
		{"no lineage", func(t *testing.T, path string) { rawUpdate(t, path, put([]string{"meta"}, "lineage", "")) }, "no lineage"},
		{"bad provenance value", func(t *testing.T, path string) {
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("provenance")).Bucket([]byte("main")).Bucket([]byte("hashes")).
					Put(mustHex(hashN(3, 64)), []byte{0xff})
			})
		}, "bad uvarint"},
		{"provenance index out of table", func(t *testing.T, path string) {
			rawUpdate(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("provenance")).Bucket([]byte("main")).Bucket([]byte("hashes")).
					Put(mustHex(hashN(3, 64)), []byte{100})
			})
		}, "incident 100: missing"},
		{"foreign bbolt file", func(t *testing.T, path string) {
			os.Remove(path)
			rawUpdate(t, path, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		}, "no meta bucket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			good := populated(t)
			path := filepath.Join(t.TempDir(), "damaged.state")
			data, _ := os.ReadFile(good.Path())
			os.WriteFile(path, data, 0o600)
			tt.damage(t, path)
			s := boltstore.New(path, boltstore.Options{OpenTimeout: time.Second})
			err := readAll(s)
			if err == nil {
				t.Fatal("reading a damaged file: no error")
			}
			if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant ErrCorrupt naming %s and containing %q", err, path, tt.want)
			}
		})
	}
}

func mustHex(h string) []byte {
	b := make([]byte, len(h)/2)
	for i := range b {
		b[i] = unhex(h[2*i])<<4 | unhex(h[2*i+1])
	}
	return b
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

func TestNewerFormatRefused(t *testing.T) {
	s := populated(t)
	rawUpdate(t, s.Path(), put([]string{"meta"}, "format_version", "7"))
	ops := map[string]func() error{
		"snapshot": func() error { _, err := s.Snapshot(); return err },
		"history":  func() error { _, err := s.History(); return err },
		"init":     func() error { _, err := s.Init(); return err },
		"commit": func() error {
			w := mustLock(t, s)
			defer w.Unlock()
			_, err := w.Commit(state.Commit{})
			return err
		},
		// Issue 10, item 9: the backup of a newer-format state overwrote
		// the good backup before anything refused the file.
		"backup": func() error {
			if err := os.WriteFile(s.BackupPath(), []byte("previous backup"), 0o600); err != nil {
				t.Fatal(err)
			}
			w := mustLock(t, s)
			defer w.Unlock()
			err := w.Backup()
			if data, _ := os.ReadFile(s.BackupPath()); string(data) != "previous backup" {
				t.Errorf("the backup was overwritten by a newer-format state")
			}
			return err
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			err := op()
			var ve *state.VersionError
			if !errors.As(err, &ve) || ve.Found != 7 || ve.Supported != 1 || ve.Path != s.Path() {
				t.Fatalf("error = %v, want VersionError{found 7, supported 1}", err)
			}
			if !strings.Contains(err.Error(), "upgrade lumuctl") {
				t.Errorf("error %q does not say to upgrade lumuctl", err)
			}
		})
	}
	// Restore so that the cleanup integrity check can read it.
	rawUpdate(t, s.Path(), put([]string{"meta"}, "format_version", "1"))
}
