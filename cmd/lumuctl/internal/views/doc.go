// Package views renders command results for people and for machines. Every
// view writes only to the writers it is given, and renders data that holds no
// credentials (the plan model and diagnostics never carry a key; credential
// lines of the configuration are never quoted in snippets).
//
// The views:
//
//   - Diagnostics (diagnostics.go): hcl.Diagnostics as human text with source
//     snippets (WriteDiagnostics: warnings to stdout, errors to stderr) and as
//     the JSON diagnostic shape (NewJSONDiagnostic, JSONDiagnostic) shared by
//     `validate --json` and the diagnostic events.
//   - Validate (validate.go): the `validate` result, human (ValidateHuman) or
//     one JSON document (ValidateJSON, ValidateDocument); NewValidate picks
//     one from the requested format.
//   - Human plan (plan_human.go): WritePlanHuman renders a plan.Plan the
//     Terraform way (drift section first, +/~/- per item grouped by
//     blocklist, OS and hash type, hash lines with provenance cut at
//     PlanHumanOptions.MaxHashLines, the "Plan:" and "Hashes:" summary lines
//     from PlanSummaryLine); used by plan, apply, destroy and show.
//   - JSON events (json_events.go): Events writes the versioned JSON-lines
//     stream of plan and apply (--json, --json-into); the format and every
//     message type are documented on JSONUIVersion.
//   - Plan and Apply (operation.go): the views of plan, apply and destroy.
//     Each receives everything the engine operation reports through its one
//     progress interface, operation.Hook (the plan with its diagnostics,
//     notices, Kibana write progress), plus the error that ends the command
//     (Failed) and, for Apply, the outcome of the writes (Applied).
//     OperationHuman and OperationJSON implement both, Both is the two
//     together (--json-into); NewPlan and NewApply pick from the flags. An
//     event has one text for every format (ApplyCompleteText, FetchMessage).
//     FetchStatus shows Lumu fetching progress whatever the format.
//   - Markdown (markdown.go): RenderMarkdown renders a plan for a
//     pull-request comment, starting with the marker line
//     MarkdownMarkerPrefix + digest and always shorter than
//     MarkdownMaxChars.
//
// It does not decide exit codes, read files other than through the
// hcl.File map it is handed, or run anything: commands in package cli run
// the engine operation (operation.Plan, operation.Apply) or build the model
// (config diagnostics) and choose the views from the flags. User
// documentation of these formats is in docs/commands.md (human plan) and
// docs/plan-json.md (JSON events, plan file, markdown).
package views
