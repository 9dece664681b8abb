package datadir

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// LockFileName is the data directory's index lock, which lander index
// holds while it builds a generation and prunes old ones.
const LockFileName = ".lock"

// ErrLocked is wrapped by the errors of TryLockFile and LockIndex when
// another holder has the lock.
var ErrLocked = errors.New("locked")

// lockPoll is how often LockFile retries a lock held elsewhere.
const lockPoll = 20 * time.Millisecond

// TryLockFile takes an exclusive advisory lock (flock) on path, created
// when missing, without waiting, and returns its release. While another
// holder, in this process or another, has the lock, the error wraps
// ErrLocked.
func TryLockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return func() {
				unix.Flock(int(f.Fd()), unix.LOCK_UN)
				f.Close()
			}, nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
		default:
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
}

// LockFile takes an exclusive advisory lock on path (created when
// missing), retrying while another holder has it until ctx ends, and
// returns its release. Servers sharing a data directory, on one host or
// over NFS, serialise their writes of the overrides file with it; a
// request's deadline bounds the wait, so a stuck holder fails the write
// instead of hanging it.
func LockFile(ctx context.Context, path string) (func(), error) {
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		unlock, err := TryLockFile(path)
		if !errors.Is(err, ErrLocked) {
			return unlock, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

// LockIndex takes the data directory's index lock, LockFileName, without
// waiting, and returns its release. lander index holds it while it builds
// a generation and prunes, so that two runs never pick the same
// generation number nor prune each other's unfinished folder; serving
// never takes it. While another run holds it, the error wraps ErrLocked
// and names the file.
func (d *Dir) LockIndex() (func(), error) {
	path := filepath.Join(d.root, LockFileName)
	unlock, err := TryLockFile(path)
	switch {
	case errors.Is(err, ErrLocked):
		return nil, fmt.Errorf("another lander index holds %s: %w", path, ErrLocked)
	case err != nil:
		return nil, err
	}
	return unlock, nil
}
