package pack_test

import (
	"fmt"

	"github.com/lumuctl/lumuctl/engine/pack"
	"github.com/lumuctl/lumuctl/engine/provider"
)

func ExamplePackGroup() {
	g := pack.Group{Namespace: "default", Blocklist: "prod", OS: "windows", Type: provider.MD5}
	h := func(n int) string { return fmt.Sprintf("%032x", n) }

	// Kibana holds two items; hash 3 must go, hashes 5 to 8 must come.
	// Item 0001 is rewritten anyway, so it takes one addition; the other
	// three fill one new item; item 0002 is not touched.
	existing := []pack.Existing{
		{ID: "lumuctl-default-prod-windows-md5-0001", Values: []string{h(1), h(2), h(3)}},
		{ID: "lumuctl-default-prod-windows-md5-0002", Values: []string{h(4)}},
	}
	desired := []string{h(1), h(2), h(4), h(5), h(6), h(7), h(8)}

	res, err := pack.PackGroup(g, 3, existing, desired)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range res.Items {
		fmt.Printf("%s %s %d values, +%d -%d\n", it.ID, it.Action, len(it.Values), len(it.Added), len(it.Removed))
	}
	fmt.Printf("writes %d, lower bound %d\n", pack.Writes(res), res.LowerBound)
	// Output:
	// lumuctl-default-prod-windows-md5-0001 update 3 values, +1 -1
	// lumuctl-default-prod-windows-md5-0002 keep 1 values, +0 -0
	// lumuctl-default-prod-windows-md5-0003 create 3 values, +3 -0
	// writes 2, lower bound 2
}
