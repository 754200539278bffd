// Package operation runs plan, apply and destroy as whole operations, the
// way Terraform's local backend does: Plan and Apply own the sequence
// lock → backup → reconcile the journal → plan (or decode and verify a saved
// plan) → apply → commit, and return a Result and an *Error whose Kind the
// command maps to an exit code. Everything a person or a machine sees while
// it runs goes through one Hook (Lumu fetching progress, notices, the plan,
// Kibana writes), which the command's views implement.
//
// The command (cmd/lumuctl) parses and checks flags, builds an Operation,
// picks the views and maps the result to an exit code; it holds no step of
// the sequence. OpenStore is the one place that chooses the state backend
// (bbolt or PostgreSQL); Every schedules the unattended loop of apply
// --every. The providers reach the operation only as the Factories it is
// given: this package never imports cobra or a provider.
package operation
