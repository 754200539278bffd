// Package pgtest starts a throwaway PostgreSQL cluster for tests: initdb in
// a temporary directory, then the server itself as a child process listening
// on 127.0.0.1 only, on a free port, with its socket in that directory. Run as
// root (initdb refuses root), both run as the "postgres" user.
//
// Share one cluster per test package:
//
//	var cluster *pgtest.Cluster
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, &cluster)) }
//
// A test never skips for want of PostgreSQL: when the binaries are missing,
// Main fails the package, naming the command that installs them.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// dirPrefix names the clusters' temporary directories.
const dirPrefix = "lumuctl-pgtest-"

// staleAge is how old a cluster directory without a running server must
// be before Start removes it (left by a test binary that was killed).
const staleAge = 30 * time.Minute

// removeStale removes the directories of earlier clusters whose server is
// gone (its test binary was killed before Stop), once they are staleAge
// old. A directory whose postmaster.pid names a live process is kept.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < staleAge {
			continue
		}
		if data, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			line, _, _ := strings.Cut(string(data), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && syscall.Kill(pid, 0) == nil {
				continue
			}
		}
		_ = os.RemoveAll(d)
	}
}

// InstallHint is the command that provides the binaries on Debian/Ubuntu.
const InstallHint = "apt-get install -y postgresql"

// Cluster is one running throwaway server.
type Cluster struct {
	dir     string // temporary directory (data, socket, log)
	bin     string // directory of initdb and postgres
	port    int
	cred    *syscall.Credential
	durable bool

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when cmd exits.
	exited chan struct{}

	n atomic.Int64 // FreshSchema counter
}

// Main starts a cluster, stores it in *c, runs the tests and stops it. Use it
// from TestMain: os.Exit(pgtest.Main(m, &cluster)).
func Main(m *testing.M, c **Cluster) int {
	cl, err := Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	*c = cl
	code := m.Run()
	if err := cl.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Bin finds the directory holding initdb and postgres: $PATH first, then
// the newest /usr/lib/postgresql/*/bin.
func Bin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
		if p2, err := exec.LookPath("postgres"); err == nil {
			// initdb finds postgres beside itself or on PATH.
			_ = p2
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("PostgreSQL server binaries (initdb, postgres) not found on PATH or in /usr/lib/postgresql/*/bin; install them: %s (or run `make test`, which does it when it can)", InstallHint)
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Options configure StartOptions.
type Options struct {
	// Durable keeps fsync and synchronous commit on (for benchmarks that
	// compare with an fsynced file); tests turn them off for speed.
	Durable bool
}

// Start runs initdb and starts the server (fsync off).
func Start() (*Cluster, error) { return StartOptions(Options{}) }

// StartOptions runs initdb and starts the server.
func StartOptions(o Options) (*Cluster, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	removeStale()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin, durable: o.Durable}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, initdb must run as the postgres user, which does not exist (%v); install it: %s", err, InstallHint)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	out, err := c.run("initdb", "-D", c.data(), "-U", "lumuctl", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.startServer(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PATH="+c.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	cmd.Dir = c.dir
	return cmd
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	return c.command(name, args...).CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts postgres as a child of this process (it dies with
// the test binary: Pdeathsig) and waits until it accepts connections.
func (c *Cluster) startServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(c.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"-D", c.data(),
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(c.port),
		"-c", "unix_socket_directories=" + c.dir,
		"-c", "max_connections=200", "-c", "shared_buffers=32MB"}
	if !c.durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := c.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd = cmd
	exited := make(chan struct{})
	c.exited = exited
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, err := pgx.Connect(ctx, c.URL())
		if err == nil {
			err = conn.Ping(ctx)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
			return fmt.Errorf("postgres exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after 60s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopServer stops the server (fast shutdown: SIGINT) and waits.
func (c *Cluster) stopServer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return nil
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
	return nil
}

// Restart stops the server and starts it again on the same port (every
// session is cut).
func (c *Cluster) Restart() error {
	if err := c.stopServer(); err != nil {
		return err
	}
	return c.startServer()
}

// Stop stops the server and removes its directory.
func (c *Cluster) Stop() error {
	err := c.stopServer()
	return errors.Join(err, os.RemoveAll(c.dir))
}

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// URL is a postgres:// URL of the cluster's "postgres" database as the
// superuser "lumuctl" (trust authentication, loopback only).
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://lumuctl@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// FreshSchema returns a schema name no other test of this process uses.
func (c *Cluster) FreshSchema(t testing.TB) string {
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name)
	if len(name) > 40 {
		name = name[:40]
	}
	return fmt.Sprintf("t%d_%s", c.n.Add(1), name)
}

// Exec runs SQL on the cluster as the superuser (for faults and checks).
func (c *Cluster) Exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	c.session(t, func(ctx context.Context, conn *pgx.Conn) {
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("exec %q: %v", sql, err)
		}
	})
}

// QueryText returns the one text value query selects, read as the
// superuser (for checks).
func (c *Cluster) QueryText(t testing.TB, query string, args ...any) string {
	t.Helper()
	var v string
	c.session(t, func(ctx context.Context, conn *pgx.Conn) {
		if err := conn.QueryRow(ctx, query, args...).Scan(&v); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	})
	return v
}

// session runs fn on a new superuser session, closed when fn returns.
func (c *Cluster) session(t testing.TB, fn func(ctx context.Context, conn *pgx.Conn)) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	fn(ctx, conn)
}
