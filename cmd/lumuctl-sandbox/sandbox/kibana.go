package sandbox

import (
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
)

// kibanaOptions is what the sandbox hands the Kibana stand-in.
type kibanaOptions struct {
	APIKey      string
	PolicyIDs   []string
	Space91     bool
	Version     string
	SeedUnowned int
	Seed        int64
	Now         func() time.Time
}

// newKibana builds the Kibana stand-in.
func newKibana(o kibanaOptions) *kibanasim.Server {
	return kibanasim.New(kibanasim.Options{
		APIKey: o.APIKey, PolicyIDs: o.PolicyIDs, Space91: o.Space91, Version: o.Version,
		SeedUnowned: o.SeedUnowned, Seed: o.Seed, Now: o.Now,
	})
}
