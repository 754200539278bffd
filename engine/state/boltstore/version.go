package boltstore

import (
	bolt "go.etcd.io/bbolt"
)

// upgrades[i] upgrades a state file from format version i+1 to i+2, inside
// the write transaction that first opens the old file (Terraform's
// statefile/version*.go, one step per version). Format version 1 is the
// first, so there are none yet. To change the layout: add a function here
// that rewrites the buckets, document the new layout in codec.go, and add a
// test that opens a checked-in file of the previous version.
var upgrades []func(tx *bolt.Tx) error

// currentVersion is the format version this binary writes.
func currentVersion() int { return len(upgrades) + 1 }
