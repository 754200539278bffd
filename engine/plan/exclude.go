package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// NeverBlock is the built-in list of hashes lumuctl never blocks, whatever a
// source says: blocking them would block files every system has or would
// match placeholders rather than malware. It holds, for md5, sha1 and
// sha256, the digest of the empty file and the all-zero digest.
var NeverBlock = map[string]string{
	"d41d8cd98f00b204e9800998ecf8427e":                                 "the md5 of the empty file",
	"da39a3ee5e6b4b0d3255bfef95601890afd80709":                         "the sha1 of the empty file",
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855": "the sha256 of the empty file",
	strings.Repeat("0", 32):                                            "an all-zero md5 (a placeholder)",
	strings.Repeat("0", 40):                                            "an all-zero sha1 (a placeholder)",
	strings.Repeat("0", 64):                                            "an all-zero sha256 (a placeholder)",
}

// enforceExclusions removes from resp the hashes lumuctl must not block
// whatever the source yielded: the ioc_filter's exclude values and the
// NeverBlock list. The engine does it for every source, right after the
// fetch, so a source type need not know about either (provider.Filter does
// not carry exclude). A never-blocked hash leaves one warning per incident
// that listed it; an excluded one leaves none (the user asked for it). The
// response is the caller's (see provider.FetchResponse), so its map is
// edited in place; the cost is one lookup per exclude value and per
// NeverBlock entry, not per hash.
func enforceExclusions(f *config.IOCFilter, resp *provider.FetchResponse) {
	if resp.Err != nil || len(resp.Indicators) == 0 {
		return
	}
	for _, h := range f.Exclude {
		delete(resp.Indicators, h)
	}
	for _, h := range sortedNeverBlock {
		ind := resp.Indicators[h]
		if ind == nil {
			continue
		}
		why := NeverBlock[h]
		for _, ref := range ind.Incidents {
			resp.Warnings = append(resp.Warnings, provider.Warning{
				Summary: "Hash on the never-block list ignored",
				Detail: fmt.Sprintf("incident %s lists the %s %s, which is %s; lumuctl never blocks it.",
					ref.ID, ind.Type, h, why),
				Incident: ref.ID,
			})
		}
		delete(resp.Indicators, h)
	}
}

// excluded reports whether lumuctl must not block h on behalf of f.
func excluded(f *config.IOCFilter, h string) bool {
	if _, ok := NeverBlock[h]; ok {
		return true
	}
	if f == nil {
		return false
	}
	for _, e := range f.Exclude {
		if e == h {
			return true
		}
	}
	return false
}

// sortedNeverBlock is NeverBlock's keys in a fixed order, so that warnings
// come out the same on every run.
var sortedNeverBlock = slices.Sorted(maps.Keys(NeverBlock))
