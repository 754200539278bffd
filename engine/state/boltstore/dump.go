package boltstore

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

var (
	_ state.Exporter = (*Store)(nil)
	_ state.Replacer = (*writer)(nil)
)

// Export reads the whole state file in one read transaction (for state
// pull/push and init --migrate-state). No file yields a Dump with Lineage "".
func (s *Store) Export() (*state.Dump, error) {
	d := &state.Dump{}
	_, err := s.view(func(tx *bolt.Tx, m meta) error {
		d.Lineage, d.Serial = m.lineage, m.serial
		return nil
	})
	if err != nil || d.Lineage == "" {
		return d, err
	}
	st, err := s.Snapshot()
	if err != nil {
		return nil, err
	}
	if d.History, err = s.History(); err != nil {
		return nil, err
	}
	if st.Lineage != d.Lineage {
		return nil, errors.New("state changed during export")
	}
	d.Serial, d.Items, d.Applied, d.Journal = st.Serial, st.Items, st.Applied, st.Journal
	d.Provenance = map[string]state.HashIncidents{}
	_, err = s.view(func(tx *bolt.Tx, m meta) error {
		if m.serial != d.Serial {
			return errors.New("state changed during export")
		}
		pb := tx.Bucket(bucketProvenance)
		return pb.ForEachBucket(func(name []byte) error {
			p, err := s.readProvenance(pb.Bucket(name), string(name))
			d.Provenance[string(name)] = p
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// readProvenance reads one blocklist's provenance bucket whole.
func (s *Store) readProvenance(b *bolt.Bucket, bl string) (state.HashIncidents, error) {
	hashes, incidents := b.Bucket(bucketHashes), b.Bucket(bucketIncidents)
	where := fmt.Sprintf("provenance[%q]", bl)
	if hashes == nil || incidents == nil {
		return nil, s.corrupt(where, errors.New("missing hashes or incidents bucket"))
	}
	var refs []provider.IncidentRef
	err := incidents.ForEach(func(k, v []byte) error {
		r, err := decodeIncident(v)
		if err != nil {
			return s.corrupt(fmt.Sprintf("%s incident %x", where, k), err)
		}
		refs = append(refs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	p := state.HashIncidents{}
	err = hashes.ForEach(func(k, v []byte) error {
		idx, err := decodeIndexes(v, min(uint64(len(refs)), math.MaxUint32+1))
		if err != nil {
			return s.corrupt(fmt.Sprintf("%s[%x]", where, k), err)
		}
		list := make([]provider.IncidentRef, len(idx))
		for i, n := range idx {
			list[i] = refs[n]
		}
		p[hex.EncodeToString(k)] = list
		return nil
	})
	return p, err
}

// Replace replaces the whole state file's content with d in one write
// transaction: lineage as in d, serial d.Serial or, when the file already
// holds a state, at least one more than its serial.
func (w *writer) Replace(d *state.Dump) error {
	if err := state.ValidateDump(d); err != nil {
		return err
	}
	prov, err := state.EncodeProvenances(d.Provenance, encodeProvenance)
	if err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return state.ErrUnlocked
	}
	existed := false
	_, err = w.s.view(func(*bolt.Tx, meta) error { existed = true; return nil })
	if err != nil {
		return err
	}
	_, err = w.s.update(false, func(tx *bolt.Tx) error {
		serial := d.Serial
		if existed {
			cur, err := decodeUint(tx.Bucket(bucketMeta).Get(keySerial))
			if err != nil {
				return err
			}
			serial = max(serial, cur+1)
		}
		for _, name := range topBuckets {
			if string(name) == string(bucketMeta) {
				continue
			}
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		mb := tx.Bucket(bucketMeta)
		if err := mb.Put(keyLineage, []byte(d.Lineage)); err != nil {
			return err
		}
		if err := mb.Put(keySerial, encodeUint(serial)); err != nil {
			return err
		}
		items := tx.Bucket(bucketItems)
		for _, id := range slices.Sorted(maps.Keys(d.Items)) {
			data, err := json.Marshal(d.Items[id])
			if err != nil {
				return err
			}
			if err := items.Put([]byte(id), data); err != nil {
				return err
			}
		}
		applied := tx.Bucket(bucketApplied)
		for dg, at := range d.Applied {
			data, err := json.Marshal(appliedRecord{Time: at.UTC()})
			if err != nil {
				return err
			}
			if err := applied.Put([]byte(dg), data); err != nil {
				return err
			}
		}
		if err := putSeq(tx.Bucket(bucketHistory), len(d.History), func(i int) (uint64, any) { return d.History[i].Seq, d.History[i] }); err != nil {
			return err
		}
		if err := putSeq(tx.Bucket(bucketJournal), len(d.Journal), func(i int) (uint64, any) { return d.Journal[i].Seq, d.Journal[i] }); err != nil {
			return err
		}
		pb := tx.Bucket(bucketProvenance)
		for _, bl := range slices.Sorted(maps.Keys(prov)) {
			if err := prov[bl].write(pb, bl); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	return nil
}

// putSeq writes n records keyed by sequence number and sets the bucket's
// sequence to the highest one.
func putSeq(b *bolt.Bucket, n int, rec func(i int) (uint64, any)) error {
	var top uint64
	for i := range n {
		seq, v := rec(i)
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if err := b.Put(seqKey(seq), data); err != nil {
			return err
		}
		top = max(top, seq)
	}
	return b.SetSequence(top)
}
