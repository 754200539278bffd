// Package pack maps the desired hashes of one blocklist, OS and hash type
// (a "group") onto Kibana blocklist items so that each apply writes as few
// items as possible.
//
// It owns the packing algorithm, its lower bound, and the item_id layout
// "lumuctl-<namespace>-<blocklist>-<os>-<hashtype>-<seq>". It does not own
// I/O, item names, descriptions, tags or meta (the planner builds those), nor
// drift detection of anything but an item's values: the caller reads the
// items, says which ones must be rewritten for other reasons
// (Existing.ForceRewrite) and turns the returned actions into Kibana writes.
//
// Start with Pack (the algorithm, with its rules and lower bound documented
// there) or PackGroup (Pack with ids built and parsed for one group).
// ItemID/ParseItemID build and recognise item ids.
//
// Everything here is pure and deterministic: the same input, in any order,
// gives the same Result.
package pack
