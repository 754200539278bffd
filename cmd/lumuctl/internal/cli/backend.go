package cli

import (
	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/operation"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
)

// openStore chooses the state backend of cfg (operation.OpenStore).
func openStore(cfg *config.Config) (state.Store, error) { return operation.OpenStore(cfg) }

// openStore opens the configuration's store and closes it when the run
// ends (the PostgreSQL readers' session).
func (g *globals) openStore(cfg *config.Config) (state.Store, error) {
	s, err := openStore(cfg)
	if err == nil {
		g.closers = append(g.closers, storeCloser{s})
	}
	return s, err
}

// storeCloser closes a store at the end of the run; a failure to close a
// read session changes nothing the run did, so it is not reported.
type storeCloser struct{ s state.Store }

func (c storeCloser) Close() error { closeStore(c.s); return nil }

// closeStore releases a store's connections (operation.CloseStore).
func closeStore(s state.Store) { operation.CloseStore(s) }

// sourceCache is the Lumu cache that lives with the state backend
// (operation.SourceCache).
func sourceCache(s state.Store) provider.Cache { return operation.SourceCache(s) }
