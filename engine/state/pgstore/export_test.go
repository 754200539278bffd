package pgstore

import (
	"context"
	"net"
	"sync"
)

// RoundTrips counts the round trips of every session a store opens from
// then on: the times a session starts waiting for the server's answer
// after sending (a read after a write), so a pipelined batch or a
// statement is one, and the Parse of a statement a session has not
// prepared yet is one more.
type RoundTrips struct {
	mu    sync.Mutex
	n     int
	wrote map[*countingConn]bool
}

// N returns the round trips counted so far.
func (r *RoundTrips) N() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

type countingConn struct {
	net.Conn
	r *RoundTrips
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.r.mu.Lock()
	c.r.wrote[c] = true
	c.r.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.r.mu.Lock()
	if c.r.wrote[c] {
		c.r.n++
		c.r.wrote[c] = false
	}
	c.r.mu.Unlock()
	return c.Conn.Read(b)
}

// CountRoundTrips makes the sessions s opens from now on count their round
// trips.
func CountRoundTrips(s *Store) *RoundTrips {
	r := &RoundTrips{wrote: map[*countingConn]bool{}}
	dial := s.ci.cfg.DialFunc
	s.ci.cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &countingConn{Conn: c, r: r}, nil
	}
	return r
}
