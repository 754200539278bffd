package kibanasim

import "fmt"

// seedUnowned stores n blocklist items that no lumuctl configuration owns:
// their item_ids never start with "lumuctl-", and some are look-alikes
// ("lumuctlx-...", "my-lumuctl-...", "LUMUCTL-...", "lumuctl_...") that a
// sloppy prefix check would claim. Deterministic for a given Seed.
func (s *Server) seedUnowned(n int) {
	oses := []string{"windows", "macos", "linux"}
	hashes := []struct {
		field string
		hex   int
	}{{"file.hash.md5", 32}, {"file.hash.sha1", 40}, {"file.hash.sha256", 64}}
	for i := range n {
		os := oses[s.rng.IntN(len(oses))]
		h := hashes[s.rng.IntN(len(hashes))]
		var itemID string
		switch i % 6 {
		case 0:
			itemID = fmt.Sprintf("manual-%s-%04d", os, i)
		case 1:
			itemID = fmt.Sprintf("lumuctlx-default-ops-%04d", i)
		case 2:
			itemID = fmt.Sprintf("my-lumuctl-default-ops-%04d", i)
		case 3:
			itemID = fmt.Sprintf("LUMUCTL-default-ops-%04d", i)
		case 4:
			itemID = fmt.Sprintf("lumuctl_default_ops_%04d", i)
		default:
			itemID = s.newUUID()
		}
		values := make([]string, 1+s.rng.IntN(5))
		for j := range values {
			values[j] = s.randHex(h.hex)
		}
		tags := []string{"policy:all"}
		if len(s.opts.PolicyIDs) > 0 && i%3 == 2 {
			tags = []string{"policy:" + s.opts.PolicyIDs[s.rng.IntN(len(s.opts.PolicyIDs))]}
		}
		if s.opts.Space91 {
			tags = append(tags, ownerSpaceTagPrefx+"default")
		}
		now := s.now()
		s.insertLocked(Item{
			ID: s.newUUID(), ItemID: itemID, ListID: BlocklistListID, NamespaceType: nsAgnostic,
			Type: "simple", Name: fmt.Sprintf("Manually added %s block %d", os, i),
			Description: "Added by the security team by hand", OSTypes: []string{os}, Tags: tags,
			Entries:  []Entry{{Field: h.field, Type: "match_any", Operator: "included", Value: values}},
			Comments: []Comment{}, TieBreakerID: s.newUUID(),
			CreatedAt: now, CreatedBy: "analyst", UpdatedAt: now, UpdatedBy: "analyst",
		}, nsAgnostic)
	}
}

func (s *Server) randHex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[s.rng.IntN(16)]
	}
	return string(b)
}
