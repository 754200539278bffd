package views

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/lumuctl/lumuctl/engine/apply"
	"github.com/lumuctl/lumuctl/engine/plan"
	"github.com/lumuctl/lumuctl/engine/provider"
)

// JSONUIVersion is the version of the JSON-lines event format, sent in the
// first (version) message. Bump it whenever a message's shape changes.
//
// JSON-lines events are the machine view of plan and apply (`--json` on
// stdout, `--json-into FILE` next to the human view). The stream is modelled
// on Terraform's JSON UI (views/json_view.go, views/json/message_types.go):
// one JSON object per line, each with a "type", the version message first.
//
// # Format (JSONUIVersion 1.0)
//
// Every message has these fields:
//
//	"@level"     "info", "warn" or "error"
//	"@message"   a sentence for people (do not parse it)
//	"@timestamp" RFC 3339 time with nanoseconds, UTC
//	"type"       one of the types below
//
// The types and their own fields:
//
//	version         always the first message.
//	                "lumuctl": tool version, "ui": JSONUIVersion.
//	diagnostic      a configuration or planning diagnostic, and each planning
//	                warning (plan.Warnings, with severity "warning").
//	                "diagnostic": {"severity", "summary", "detail", "range",
//	                "snippet"} as in `validate --json`.
//	container       an endpoint_blocklists list the plan creates.
//	                "container": {"kibana", "action": "create"}.
//	drift           an owned item changed in Kibana outside lumuctl; the plan
//	                restores it. "drift": {"blocklist", "kibana", "item_id",
//	                "what": ["values", "tags", ...], "added": [hashes added
//	                outside lumuctl], "removed": [hashes removed outside]}.
//	planned_change  one item write. "change": {"blocklist", "kibana",
//	                "action": "create"|"update"|"delete", "item_id", "os",
//	                "hash_type", "added": [{"hash", "incidents": [incident]}],
//	                "removed": [{"hash", "incidents": [incident]}],
//	                "moved_in": [hashes taken over from another item],
//	                "reasons": [why an item is rewritten besides hashes],
//	                "values_after": number of values the item holds after}.
//	                Every hash is listed; nothing is cut. Incidents of added
//	                hashes are the current ones, those of removed hashes are
//	                the ones recorded at the last apply.
//	change_summary  the totals, last message of a plan and after an apply.
//	                "changes": {"add", "change", "remove", "hashes_added",
//	                "hashes_removed", "blocked_after", "containers",
//	                "drifted", "operation": "plan"|"apply"|"destroy"},
//	                "plan_digest". Its @message is the human summary line
//	                ("Plan: 1 to add, 2 to change, 0 to destroy.", "No
//	                changes. ...", or after an apply the apply_complete
//	                sentence). After an apply the counts are what was done
//	                and "blocked_after" is 0 unless the apply completed.
//	apply_start     "total": the number of item writes apply will make.
//	apply_progress  one per finished write. "done", "total", "blocklist",
//	                "item_id", "action", "hashes_added", "hashes_removed".
//	apply_errored   a failed write. "blocklist", "item_id", "action", "error".
//	apply_complete  "added", "changed", "destroyed" (items), "hashes_added",
//	                "hashes_removed", "hashes_blocked", "writes", "errors",
//	                "interrupted", "outcome": "success"|"partial"|"error"|
//	                "interrupted". @level is "error" unless the outcome is
//	                success.
//
// An incident is {"id", "company", "filter", "adversary", "adversary_types",
// "description", "last_contact", "status"}; empty fields are left out.
//
// Messages never hold credentials: they are built from the plan model, which
// holds none. Consumers must ignore fields and message types they do not
// know; removing or changing a field bumps JSONUIVersion.
const JSONUIVersion = "1.0"

// MessageType is the "type" of a JSON event.
type MessageType string

// The JSON event types.
const (
	MessageVersion       MessageType = "version"
	MessageDiagnostic    MessageType = "diagnostic"
	MessageContainer     MessageType = "container"
	MessageDrift         MessageType = "drift"
	MessagePlannedChange MessageType = "planned_change"
	MessageChangeSummary MessageType = "change_summary"
	MessageApplyStart    MessageType = "apply_start"
	MessageApplyProgress MessageType = "apply_progress"
	MessageApplyErrored  MessageType = "apply_errored"
	MessageApplyComplete MessageType = "apply_complete"
)

// Operation says what a change_summary counts.
type Operation string

// Operations of a change_summary.
const (
	OperationPlan    Operation = "plan"
	OperationApply   Operation = "apply"
	OperationDestroy Operation = "destroy"
)

// MessageHeader holds the fields every JSON event has.
type MessageHeader struct {
	Level     string      `json:"@level"` // "info", "warn" or "error"
	Message   string      `json:"@message"`
	Timestamp string      `json:"@timestamp"` // RFC 3339 with nanoseconds, UTC
	Type      MessageType `json:"type"`
}

// VersionMessage is the first event of every stream.
type VersionMessage struct {
	MessageHeader
	Lumuctl string `json:"lumuctl"` // tool version
	UI      string `json:"ui"`      // JSONUIVersion
}

// DiagnosticMessage carries one diagnostic or planning warning.
type DiagnosticMessage struct {
	MessageHeader
	Diagnostic JSONDiagnostic `json:"diagnostic"`
}

// ContainerMessage announces an endpoint_blocklists list to create.
type ContainerMessage struct {
	MessageHeader
	Container JSONContainer `json:"container"`
}

// JSONContainer is the body of a ContainerMessage.
type JSONContainer struct {
	Kibana string `json:"kibana"`
	Action string `json:"action"` // "create"
}

// DriftMessage reports an owned item changed outside lumuctl.
type DriftMessage struct {
	MessageHeader
	Drift JSONDrift `json:"drift"`
}

// JSONDrift is the body of a DriftMessage (see plan.Drift).
type JSONDrift struct {
	Blocklist string   `json:"blocklist"`
	Kibana    string   `json:"kibana"`
	ItemID    string   `json:"item_id"`
	What      []string `json:"what"`
	Added     []string `json:"added"`
	Removed   []string `json:"removed"`
}

// PlannedChangeMessage is one item write of a plan.
type PlannedChangeMessage struct {
	MessageHeader
	Change JSONChange `json:"change"`
}

// JSONChange is the body of a PlannedChangeMessage (see plan.ItemChange).
type JSONChange struct {
	Blocklist string `json:"blocklist"`
	Kibana    string `json:"kibana"`
	Action    string `json:"action"` // "create", "update" or "delete"
	ItemID    string `json:"item_id"`
	OS        string `json:"os"`
	HashType  string `json:"hash_type"`
	// Added and Removed list every hash, with its incidents.
	Added   []JSONHash `json:"added"`
	Removed []JSONHash `json:"removed"`
	// MovedIn are hashes taken over from another item (blocked throughout).
	MovedIn []string `json:"moved_in"`
	Reasons []string `json:"reasons"`
	// ValuesAfter is the number of values the item holds after the write
	// (0 for delete).
	ValuesAfter int `json:"values_after"`
}

// JSONHash is a hash with the incidents that explain it.
type JSONHash struct {
	Hash      string         `json:"hash"`
	Incidents []JSONIncident `json:"incidents"`
}

// JSONIncident is the provenance of a hash: one Lumu incident.
type JSONIncident struct {
	ID             string   `json:"id"`
	Company        string   `json:"company,omitempty"`
	Filter         string   `json:"filter,omitempty"`
	Adversary      string   `json:"adversary,omitempty"`
	AdversaryTypes []string `json:"adversary_types,omitempty"`
	Description    string   `json:"description,omitempty"`
	LastContact    string   `json:"last_contact,omitempty"` // RFC 3339, UTC
	Status         string   `json:"status,omitempty"`
}

// ChangeSummaryMessage holds the totals of a plan or an apply.
type ChangeSummaryMessage struct {
	MessageHeader
	Changes    JSONChangeSummary `json:"changes"`
	PlanDigest string            `json:"plan_digest"`
}

// JSONChangeSummary is the body of a ChangeSummaryMessage. Add, Change and
// Remove count items; the hash counts are over (OS, hash) values.
type JSONChangeSummary struct {
	Add           int       `json:"add"`
	Change        int       `json:"change"`
	Remove        int       `json:"remove"`
	HashesAdded   int       `json:"hashes_added"`
	HashesRemoved int       `json:"hashes_removed"`
	BlockedAfter  int       `json:"blocked_after"`
	Containers    int       `json:"containers"`
	Drifted       int       `json:"drifted"`
	Operation     Operation `json:"operation"`
}

// ApplyStartMessage opens an apply.
type ApplyStartMessage struct {
	MessageHeader
	Total int `json:"total"` // item writes to make
}

// ApplyProgressMessage reports one successful write.
type ApplyProgressMessage struct {
	MessageHeader
	Done          int    `json:"done"`
	Total         int    `json:"total"`
	Blocklist     string `json:"blocklist"`
	ItemID        string `json:"item_id"`
	Action        string `json:"action"`
	HashesAdded   int    `json:"hashes_added"`
	HashesRemoved int    `json:"hashes_removed"`
}

// ApplyErroredMessage reports one failed write.
type ApplyErroredMessage struct {
	MessageHeader
	Blocklist string `json:"blocklist"`
	ItemID    string `json:"item_id"`
	Action    string `json:"action"`
	Error     string `json:"error"`
}

// ApplyCompleteMessage closes an apply.
type ApplyCompleteMessage struct {
	MessageHeader
	Added         int    `json:"added"`
	Changed       int    `json:"changed"`
	Destroyed     int    `json:"destroyed"`
	HashesAdded   int    `json:"hashes_added"`
	HashesRemoved int    `json:"hashes_removed"`
	HashesBlocked int    `json:"hashes_blocked"`
	Writes        int    `json:"writes"`
	Errors        int    `json:"errors"`
	Interrupted   bool   `json:"interrupted"`
	Outcome       string `json:"outcome"`
}

// Events writes the JSON-lines event stream. It is safe for concurrent use:
// each message is one Write of one complete line. It implements apply.Hook,
// so it can be passed to apply.Options.Hook directly.
//
// Write errors do not stop the run: the first one is kept and returned by
// Err (and by the methods that return an error).
type Events struct {
	mu    sync.Mutex
	w     io.Writer
	now   func() time.Time
	err   error
	total int
	done  int
}

var _ apply.Hook = (*Events)(nil)

// NewEvents returns an Events writing to w and writes the version message,
// so it is always the first line. now stamps each message (nil: time.Now).
func NewEvents(w io.Writer, toolVersion string, now func() time.Time) *Events {
	if now == nil {
		now = time.Now
	}
	e := &Events{w: w, now: now}
	e.emit(&VersionMessage{
		MessageHeader: e.header("info", MessageVersion, "lumuctl "+toolVersion),
		Lumuctl:       toolVersion,
		UI:            JSONUIVersion,
	})
	return e
}

// Err returns the first write or encoding error, if any.
func (e *Events) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

func (e *Events) header(level string, t MessageType, msg string) MessageHeader {
	return MessageHeader{Level: level, Message: msg, Timestamp: e.now().UTC().Format(time.RFC3339Nano), Type: t}
}

// emit writes one message as one line and returns the first error so far.
func (e *Events) emit(msg any) error {
	b, err := json.Marshal(msg)
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		if e.err == nil {
			e.err = fmt.Errorf("encode JSON event: %w", err)
		}
		return e.err
	}
	b = append(b, '\n')
	if _, werr := e.w.Write(b); werr != nil && e.err == nil {
		e.err = fmt.Errorf("write JSON event: %w", werr)
	}
	return e.err
}

// Diagnostics writes one diagnostic message per diagnostic, with snippets
// from files (credential lines are never quoted, see NewJSONDiagnostic).
func (e *Events) Diagnostics(diags hcl.Diagnostics, files map[string]*hcl.File) error {
	for _, d := range diags {
		jd := NewJSONDiagnostic(d, files)
		level := "error"
		if jd.Severity == "warning" {
			level = "warn"
		}
		msg := "Error: " + jd.Summary
		if level == "warn" {
			msg = "Warning: " + jd.Summary
		}
		e.emit(&DiagnosticMessage{MessageHeader: e.header(level, MessageDiagnostic, msg), Diagnostic: jd})
	}
	return e.Err()
}

// Plan writes the messages of a plan in a fixed order: containers (by
// kibana), drift, planned changes (blocklists and changes in plan order),
// planning warnings, and the change_summary last.
func (e *Events) Plan(p *plan.Plan) error {
	if p == nil {
		return fmt.Errorf("render plan events: no plan")
	}
	for _, k := range p.Kibanas {
		if !k.CreateContainer {
			continue
		}
		e.emit(&ContainerMessage{
			MessageHeader: e.header("info", MessageContainer, fmt.Sprintf("kibana %q: the endpoint_blocklists list will be created", k.Name)),
			Container:     JSONContainer{Kibana: k.Name, Action: provider.Create.String()},
		})
	}
	for _, bp := range p.Blocklists {
		for _, d := range bp.Drift {
			e.emit(&DriftMessage{
				MessageHeader: e.header("warn", MessageDrift, fmt.Sprintf("blocklist %q: item %s was changed outside lumuctl (%s); the plan restores it", bp.Name, d.ItemID, strings.Join(d.What, ", "))),
				Drift: JSONDrift{
					Blocklist: bp.Name, Kibana: bp.Kibana, ItemID: d.ItemID,
					What: nonNil(d.What), Added: nonNil(d.Added), Removed: nonNil(d.Removed),
				},
			})
		}
	}
	for _, bp := range p.Blocklists {
		for _, c := range bp.Changes {
			e.emit(&PlannedChangeMessage{
				MessageHeader: e.header("info", MessagePlannedChange, evChangeText(bp.Name, c)),
				Change:        evChange(bp, c),
			})
		}
	}
	for _, n := range p.Warnings {
		e.emit(&DiagnosticMessage{
			MessageHeader: e.header("warn", MessageDiagnostic, "Warning: "+n.Summary),
			Diagnostic:    JSONDiagnostic{Severity: "warning", Summary: n.Summary, Detail: n.Detail},
		})
	}
	s := p.Summary
	msg := NoChangesLine
	if p.HasChanges() {
		msg = PlanSummaryLine(s)
	}
	return e.changeSummary(OperationPlan, p.Digest, JSONChangeSummary{
		Add: s.Add, Change: s.Change, Remove: s.Destroy,
		HashesAdded: s.HashesAdded, HashesRemoved: s.HashesRemoved, BlockedAfter: s.BlockedAfter,
		Containers: s.Containers, Drifted: s.Drifted,
	}, "info", msg)
}

// changeSummary writes a change_summary message for op with msg as its
// @message.
func (e *Events) changeSummary(op Operation, planDigest string, sum JSONChangeSummary, level, msg string) error {
	sum.Operation = op
	return e.emit(&ChangeSummaryMessage{
		MessageHeader: e.header(level, MessageChangeSummary, msg),
		Changes:       sum,
		PlanDigest:    planDigest,
	})
}

func evChangeText(blocklist string, c plan.ItemChange) string {
	switch c.Action {
	case provider.Create:
		return fmt.Sprintf("blocklist %q: item %s will be created (+%d hashes)", blocklist, c.ItemID, len(c.Added))
	case provider.Delete:
		return fmt.Sprintf("blocklist %q: item %s will be destroyed (-%d hashes)", blocklist, c.ItemID, len(c.Removed))
	default:
		return fmt.Sprintf("blocklist %q: item %s will be updated in place (+%d -%d hashes)", blocklist, c.ItemID, len(c.Added), len(c.Removed))
	}
}

func evChange(bp plan.BlocklistPlan, c plan.ItemChange) JSONChange {
	jc := JSONChange{
		Blocklist: bp.Name, Kibana: bp.Kibana, Action: c.Action.String(), ItemID: c.ItemID,
		OS: c.OS, HashType: string(c.HashType),
		Added: make([]JSONHash, 0, len(c.Added)), Removed: make([]JSONHash, 0, len(c.Removed)),
		MovedIn: nonNil(c.MovedIn), Reasons: nonNil(c.Reasons),
	}
	jc.ValuesAfter = c.ValuesAfter()
	for _, h := range c.Added {
		jc.Added = append(jc.Added, JSONHash{Hash: h, Incidents: evIncidents(bp.Provenance.Lookup(h))})
	}
	for _, h := range c.Removed {
		jc.Removed = append(jc.Removed, JSONHash{Hash: h, Incidents: evIncidents(bp.PriorProvenance.Lookup(h))})
	}
	return jc
}

func evIncidents(refs []provider.IncidentRef) []JSONIncident {
	out := make([]JSONIncident, 0, len(refs))
	for _, r := range refs {
		ji := JSONIncident{
			ID: r.ID, Company: r.Company, Filter: r.Filter, Adversary: r.AdversaryID,
			AdversaryTypes: r.AdversaryTypes, Description: r.Description, Status: r.Status,
		}
		if !r.LastContact.IsZero() {
			ji.LastContact = r.LastContact.UTC().Format(time.RFC3339)
		}
		out = append(out, ji)
	}
	return out
}

// nonNil returns s, or an empty slice for nil so that JSON shows [].
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SetTotal sets the number of writes apply_progress messages count towards.
func (e *Events) SetTotal(n int) {
	e.mu.Lock()
	e.total = n
	e.done = 0
	e.mu.Unlock()
}

// ApplyStart writes the apply_start message and sets the total (SetTotal).
func (e *Events) ApplyStart(total int) error {
	e.SetTotal(total)
	return e.emit(&ApplyStartMessage{
		MessageHeader: e.header("info", MessageApplyStart, fmt.Sprintf("Applying %d item %s", total, plural(total, "write", "writes"))),
		Total:         total,
	})
}

// CountWrites returns the number of item writes in p (the apply_start total).
func CountWrites(p *plan.Plan) int {
	n := 0
	for _, bp := range p.Blocklists {
		n += len(bp.Changes)
	}
	return n
}

// PreApply implements apply.Hook; it writes nothing (progress is reported
// when a write finishes).
func (e *Events) PreApply(string, plan.ItemChange) {}

// PostApply implements apply.Hook: apply_progress on success, apply_errored
// on failure.
func (e *Events) PostApply(blocklist string, c plan.ItemChange, err error) {
	if err != nil {
		e.emit(&ApplyErroredMessage{
			MessageHeader: e.header("error", MessageApplyErrored, fmt.Sprintf("blocklist %q: item %s: %s failed: %v", blocklist, c.ItemID, c.Action, err)),
			Blocklist:     blocklist, ItemID: c.ItemID, Action: c.Action.String(), Error: err.Error(),
		})
		return
	}
	// done and the message are taken under one lock so lines come out in
	// done order.
	e.mu.Lock()
	e.done++
	m := &ApplyProgressMessage{
		Done: e.done, Total: e.total, Blocklist: blocklist, ItemID: c.ItemID, Action: c.Action.String(),
		HashesAdded: len(c.Added), HashesRemoved: len(c.Removed),
	}
	m.MessageHeader = e.header("info", MessageApplyProgress, fmt.Sprintf("blocklist %q: item %s: %s complete (%d/%d)", blocklist, c.ItemID, c.Action, m.Done, m.Total))
	b, merr := json.Marshal(m)
	if merr == nil {
		b = append(b, '\n')
		if _, werr := e.w.Write(b); werr != nil && e.err == nil {
			e.err = fmt.Errorf("write JSON event: %w", werr)
		}
	} else if e.err == nil {
		e.err = fmt.Errorf("encode JSON event: %w", merr)
	}
	e.mu.Unlock()
}

// ApplyComplete writes apply_complete for res, then a change_summary with
// operation apply (or destroy when destroy is set) counting what was done.
func (e *Events) ApplyComplete(res *apply.Result, planDigest string, destroy bool) error {
	if res == nil {
		return fmt.Errorf("render apply events: no result")
	}
	outcome := string(res.Outcome)
	command := "apply"
	if destroy {
		command = "destroy"
	}
	level, msg := "info", ApplyCompleteText(res, command) // the human view's line too
	switch {
	case res.Interrupted:
		level = "error"
		msg = fmt.Sprintf("Interrupted after %d %s: %d added, %d changed, %d destroyed.", res.Writes, plural(res.Writes, "write", "writes"), res.Added, res.Changed, res.Destroyed)
	case len(res.Errors) > 0:
		level = "error"
		msg = fmt.Sprintf("Apply failed with %d %s after %d successful %s: %d added, %d changed, %d destroyed.",
			len(res.Errors), plural(len(res.Errors), "error", "errors"), res.Writes, plural(res.Writes, "write", "writes"), res.Added, res.Changed, res.Destroyed)
	}
	e.emit(&ApplyCompleteMessage{
		MessageHeader: e.header(level, MessageApplyComplete, msg),
		Added:         res.Added, Changed: res.Changed, Destroyed: res.Destroyed,
		HashesAdded: res.HashesAdded, HashesRemoved: res.HashesRemoved, HashesBlocked: res.Blocked,
		Writes: res.Writes, Errors: len(res.Errors), Interrupted: res.Interrupted, Outcome: outcome,
	})
	op := OperationApply
	if destroy {
		op = OperationDestroy
	}
	return e.changeSummary(op, planDigest, JSONChangeSummary{
		Add: res.Added, Change: res.Changed, Remove: res.Destroyed,
		HashesAdded: res.HashesAdded, HashesRemoved: res.HashesRemoved, BlockedAfter: res.Blocked,
	}, level, msg)
}
