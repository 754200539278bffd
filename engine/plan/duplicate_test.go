package plan

import (
	"bytes"
	"strings"
	"testing"
)

// TestDecodeRefusesRepeatedItemValues: a plan file (resealed: its digest
// matches) whose item body repeats a value, or whose update's value
// change lists a value twice, is refused; lumuctl never writes one, and
// apply would send it to Kibana as it is.
func TestDecodeRefusesRepeatedItemValues(t *testing.T) {
	for _, s := range decodeSeeds(t) {
		if s.name != "update" && s.name != "mixed" {
			continue
		}
		t.Run(s.name, func(t *testing.T) {
			edited := false
			data := editBody(t, s.data, func(fb *fileBody) {
				for _, c := range fb.Blocklists[0].Changes {
					if d := c.Diff; d != nil {
						l := &d.Drop
						if len(d.Add) > 0 {
							l = &d.Add
						}
						*l = append(*l, (*l)[0], 1)
						edited = true
						return
					}
					if c.After != nil {
						e := &c.After.Entries[0]
						e.Values = append(e.Values, e.Values[0], 1)
						edited = true
						return
					}
				}
			})
			if !edited {
				t.Fatal("no item body to edit")
			}
			_, err := Decode(bytes.NewReader(data))
			if err == nil || !IsDecodeError(err) || !(strings.Contains(err.Error(), "more than once") || strings.Contains(err.Error(), "twice")) {
				t.Fatalf("Decode = %v, want a decode error naming the repeated value", err)
			}
		})
	}
}
