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
	// Item 0001, the oldest, loses hash 3; new hashes go to the newest
	// item, 0002, while it has room, then to a new item after it. The
	// bound is 1 (item 0001) + ⌈4/3⌉; filling 0002 costs one write more.
	existing := []pack.Existing{
		{ID: "lumuctl-default-prod-windows-md5-0001", Values: []string{h(1), h(2), h(3)}},
		{ID: "lumuctl-default-prod-windows-md5-0002", Values: []string{h(4)}},
	}
	desired := []string{h(1), h(2), h(4), h(5), h(6), h(7), h(8)}

	res, err := pack.PackGroup(g, 3, existing, desired, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range res.Items {
		fmt.Printf("%s %s %d values, +%d -%d\n", it.ID, it.Action, len(it.Values), len(it.Added), len(it.Removed))
	}
	fmt.Printf("writes %d, lower bound %d\n", pack.Writes(res), res.LowerBound)
	// Output:
	// lumuctl-default-prod-windows-md5-0001 update 2 values, +0 -1
	// lumuctl-default-prod-windows-md5-0002 update 3 values, +2 -0
	// lumuctl-default-prod-windows-md5-0003 create 2 values, +2 -0
	// writes 3, lower bound 3
}
