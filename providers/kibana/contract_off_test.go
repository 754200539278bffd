//go:build !kinopenapi

package kibana

// contractRequired: the default build has no OpenAPI validator (go.mod
// lacks kin-openapi's own requirements); `go test -tags kinopenapi` with a
// completed go.mod turns the contract check on.
const contractRequired = false
