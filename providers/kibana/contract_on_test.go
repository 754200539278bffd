//go:build kinopenapi

package kibana

// contractRequired: built with the OpenAPI validator, so failing to load
// Kibana's schemas fails the tests.
const contractRequired = true
