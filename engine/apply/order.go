package apply

import (
	"github.com/lumuctl/lumuctl/engine/provider"
)

// moveGroup is the scope of a move between items: one blocklist, OS and
// hash type of one Kibana.
type moveGroup struct {
	kibana, blocklist, os string
	ht                    provider.HashType
}

// moveWaves splits the writes that add hashes into waves, each sent only
// once every write of the waves before it landed: a write whose item gives
// hashes to another item of the plan (pack moves values between touched
// neighbours to merge shrinking items, and refills the tail run) comes
// after the write that takes them in (its MovedIn). Both add hashes, so
// before this they were sent together; when the giver landed and the
// receiver did not (killed, failed), the moved hashes were blocked nowhere
// (the crash soak's "blocked before the round and still desired were
// unblocked"). Moves can chain (the newest item gives to the one before,
// which gives to the one before it), hence waves, not two batches.
//
// What an update takes out of its item is its Diff.Drop (the live values
// it drops, set by plan.Make and by plan.Resolve). An update without a
// Diff (saved with its whole body) is taken to give to every other
// receiver of its group. A cycle, which the packer does not make, is sent
// as one last wave, as before.
func moveWaves(ops []op) [][]op {
	receiver := map[moveGroup]map[string]int{} // group → moved-in hash → index
	groupOf := func(o op) moveGroup {
		return moveGroup{o.kibana, o.blocklist, o.change.OS, o.change.HashType}
	}
	for i, o := range ops {
		if len(o.change.MovedIn) == 0 {
			continue
		}
		g := groupOf(o)
		if receiver[g] == nil {
			receiver[g] = map[string]int{}
		}
		for _, h := range o.change.MovedIn {
			receiver[g][h] = i
		}
	}
	if len(receiver) == 0 {
		return [][]op{ops}
	}
	deps := make([]map[int]bool, len(ops))
	for i, o := range ops {
		rs := receiver[groupOf(o)]
		if len(rs) == 0 || o.change.Action == provider.Create {
			continue
		}
		deps[i] = map[int]bool{}
		if d := o.change.Diff; d != nil {
			for _, v := range d.Drop {
				if j, ok := rs[provider.NormalizeHash(v)]; ok && j != i {
					deps[i][j] = true
				}
			}
			continue
		}
		for _, j := range rs {
			if j != i {
				deps[i][j] = true
			}
		}
	}
	var waves [][]op
	sent := make([]bool, len(ops))
	for left := len(ops); left > 0; {
		var wave []int
		for i := range ops {
			if sent[i] {
				continue
			}
			ready := true
			for j := range deps[i] {
				if !sent[j] {
					ready = false
					break
				}
			}
			if ready {
				wave = append(wave, i)
			}
		}
		if len(wave) == 0 { // a cycle: the rest at once
			for i := range ops {
				if !sent[i] {
					wave = append(wave, i)
				}
			}
		}
		batch := make([]op, 0, len(wave))
		for _, i := range wave {
			sent[i] = true
			batch = append(batch, ops[i])
		}
		left -= len(wave)
		waves = append(waves, batch)
	}
	return waves
}
