package pgstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultSchema is the schema used when Options.Schema is "".
const DefaultSchema = "lumuctl"

// DefaultConnectTimeout bounds one connection attempt when the URL sets no
// connect_timeout.
const DefaultConnectTimeout = 10 * time.Second

// SchemaRE is what a schema name must match (an unquoted PostgreSQL
// identifier, lowercase).
var SchemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Options configure a Store.
type Options struct {
	// URL is a postgres:// URL or a libpq key=value string; the standard PG*
	// environment variables fill what it leaves out. It is sensitive: it is
	// never printed, logged or stored.
	URL string
	// Schema holds the tables; created on first write. "" means DefaultSchema.
	Schema string
	// Namespace keys every row: one schema serves many configurations.
	Namespace string
}

// ErrConnection is wrapped by errors that come from a lost or refused
// connection to PostgreSQL (as opposed to bad data or a held lock).
var ErrConnection = errors.New("PostgreSQL connection failed")

// pgError is an error whose text has been checked not to carry the URL or
// its password. It unwraps to the cause for errors.Is/As.
type pgError struct {
	msg string
	err error
}

func (e *pgError) Error() string { return e.msg }
func (e *pgError) Unwrap() error { return e.err }

// conninfo is the parsed, printable view of the URL.
type conninfo struct {
	cfg      *pgx.ConnConfig
	host     string
	port     uint16
	database string
	secrets  []string // strings scrubbed from every error
}

func parseURL(raw string) (*conninfo, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, errors.New("the PostgreSQL backend url is empty")
	}
	cfg, err := pgx.ParseConfig(raw)
	if err != nil {
		// pgx's message quotes the string (password redacted, but user and
		// host not) and its cause may quote all of it: say why in general.
		return nil, errors.New("the PostgreSQL backend url is not a valid postgres:// URL or key=value connection string (its text is not shown: it is sensitive)")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	ci := &conninfo{cfg: cfg, host: cfg.Host, port: cfg.Port, database: cfg.Database}
	ci.secrets = append(ci.secrets, raw)
	if cfg.Password != "" {
		ci.secrets = append(ci.secrets, cfg.Password)
	}
	return ci, nil
}

// where names the server without the credentials: "PostgreSQL host:port
// database db".
func (ci *conninfo) where() string {
	return fmt.Sprintf("PostgreSQL %s database %s", ci.addr(), ci.database)
}

func (ci *conninfo) addr() string {
	if strings.HasPrefix(ci.host, "/") {
		return ci.host + " port " + strconv.Itoa(int(ci.port))
	}
	return net.JoinHostPort(ci.host, strconv.Itoa(int(ci.port)))
}

// scrub removes the URL and its password from s.
func (ci *conninfo) scrub(s string) string {
	for _, sec := range ci.secrets {
		if len(sec) >= 3 {
			s = strings.ReplaceAll(s, sec, "(sensitive value)")
		}
	}
	return s
}

// wrap turns a driver error into one that names the server (never the URL)
// and says what was being done.
func (ci *conninfo) wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	var pe *pgError
	if errors.As(err, &pe) {
		return err
	}
	cause := err
	if isConnError(err) {
		cause = errors.Join(ErrConnection, err)
	}
	detail := err.Error()
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		// Its prefix repeats user and database; keep the reason.
		if u := errors.Unwrap(ce); u != nil {
			detail = u.Error()
		}
	}
	return &pgError{msg: ci.scrub(fmt.Sprintf("%s: %s: %s", ci.where(), what, detail)), err: cause}
}

// isConnError reports whether err means the session is gone or could not
// be opened (not an SQL error the server answered with).
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "broken pipe") || strings.Contains(msg, "connection reset")
}

// connect opens one session.
func (ci *conninfo) connect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, ci.cfg.Copy())
	if err != nil {
		return nil, ci.wrap("connect", err)
	}
	return conn, nil
}
