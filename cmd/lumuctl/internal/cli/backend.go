package cli

import (
	"fmt"

	"github.com/lumuctl/lumuctl/engine/config"
	"github.com/lumuctl/lumuctl/engine/provider"
	"github.com/lumuctl/lumuctl/engine/state"
	"github.com/lumuctl/lumuctl/engine/state/boltstore"
	"github.com/lumuctl/lumuctl/engine/state/pgstore"
)

// openStore is the one place that chooses the state backend (SPEC 10):
// settings.backend "postgres" or, without a backend block, the local bbolt
// file at state_path. It does no I/O. Every command reaches the state
// through the engine's state.Store interfaces only.
func openStore(cfg *config.Config) (state.Store, error) {
	b := cfg.Settings.Backend
	if b == nil {
		return boltstore.New(cfg.StateFile(), boltstore.Options{}), nil
	}
	switch b.Type {
	case "postgres":
		if !b.URL.Known() {
			return nil, fmt.Errorf("the url of the backend %q comes from a variable that has no value here: set it with %sNAME or in a *.auto.lumuvars file (the variable named in settings.backend.url)", b.Type, config.EnvVarPrefix)
		}
		s, err := pgstore.New(pgstore.Options{URL: b.URL.Reveal(), Schema: b.Schema, Namespace: cfg.Settings.Namespace})
		if err != nil {
			return nil, fmt.Errorf("backend %q: %w", b.Type, err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unsupported backend %q", b.Type)
}

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

// closeStore releases a store's connections (the PostgreSQL readers'
// session); a bbolt store holds nothing open.
func closeStore(s state.Store) {
	if c, ok := s.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

// sourceCache is the Lumu cache that lives with the state backend (nil for
// the local files: the source then opens cache_path itself).
func sourceCache(s state.Store) provider.Cache {
	if ps, ok := s.(*pgstore.Store); ok {
		return ps.Cache()
	}
	return nil
}
