package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/lumuctl/lumuctl/engine/safefile"
	"github.com/lumuctl/lumuctl/engine/state"
)

// lockPoll is how often a waiting writer retries the lock.
const lockPoll = 50 * time.Millisecond

// Lock takes the exclusive write lock: an flock on <state_path>.lock (the
// file's presence means nothing; only the kernel lock counts, so a crashed
// holder never blocks anyone). It tries once when opts.Timeout is 0 and
// otherwise polls until the timeout or until ctx is done. When the lock
// stays held it returns a *state.LockError naming the holder, read from the
// record the holder wrote into the lock file.
//
// The lock file is never removed: removing it would let two processes hold
// locks on two different files of the same name.
func (s *Store) Lock(ctx context.Context, opts state.LockOptions) (state.Writer, error) {
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	f, err := safefile.OpenFile(s.LockPath(), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state lock %s: %w", s.LockPath(), err)
	}
	start := time.Now()
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock state %s: %w", s.LockPath(), err)
		}
		if ok {
			break
		}
		waited := time.Since(start)
		if waited >= opts.Timeout {
			f.Close()
			return nil, &state.LockError{Path: s.LockPath(), Holder: s.readHolder(), Waited: waited.Round(time.Millisecond)}
		}
		t := time.NewTimer(min(lockPoll, opts.Timeout-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for state lock %s: %w", s.LockPath(), ctx.Err())
		case <-t.C:
		}
	}
	info := holderInfo(opts)
	if err := writeHolder(f, info); err != nil {
		_ = unlockFile(f)
		f.Close()
		return nil, fmt.Errorf("write state lock %s: %w", s.LockPath(), err)
	}
	return &writer{s: s, f: f, info: info}, nil
}

func holderInfo(opts state.LockOptions) state.LockInfo {
	info := state.LockInfo{PID: opts.PID, Who: opts.Who, Command: opts.Command}
	if info.PID == 0 {
		info.PID = os.Getpid()
	}
	if info.Who == "" {
		info.Who = state.CurrentUser()
	}
	if opts.Now != nil {
		info.Started = opts.Now()
	} else {
		info.Started = time.Now()
	}
	info.Started = info.Started.UTC().Round(0)
	return info
}

func writeHolder(f *os.File, info state.LockInfo) error {
	data, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(append(data, '\n'), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder reads the holder record. The holder writes it right after
// taking the lock, so an empty or partial record is retried briefly; a
// record that stays unreadable yields the zero LockInfo.
func (s *Store) readHolder() state.LockInfo {
	for range 5 {
		if info, err := decodeHolder(s.LockPath()); err == nil {
			return info
		}
		time.Sleep(10 * time.Millisecond)
	}
	return state.LockInfo{}
}

func decodeHolder(path string) (state.LockInfo, error) {
	var info state.LockInfo
	data, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := decodeStrict(data, &info); err != nil {
		return info, err
	}
	if info.PID <= 0 {
		return info, errors.New("lock record has no pid")
	}
	return info, nil
}
