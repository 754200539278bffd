package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/kibanasim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
)

// DefaultAddr is the listen address used when an Options address is empty:
// loopback, any free port.
const DefaultAddr = "127.0.0.1:0"

// DefaultSeedUnowned is how many unowned blocklist items the Kibana
// stand-in gets when Options.KibanaSeedUnowned is 0.
const DefaultSeedUnowned = 5

// Options configures Start. The zero value is valid: the small scenario,
// seed 0, free loopback ports, random keys.
type Options struct {
	// Scenario is a lumusim scenario name ("small" or "large"); default
	// "small".
	Scenario string
	// Seed makes the scenario, the policy ids and Kibana's seeded items
	// reproducible.
	Seed int64
	// LumuAddr, KibanaAddr and ControlAddr are loopback host:port listen
	// addresses (port 0 picks a free port); empty means DefaultAddr. Other
	// hosts are rejected (see CheckLoopback).
	LumuAddr, KibanaAddr, ControlAddr string
	// Now is the clock of both stand-ins and of the scenario; nil means
	// time.Now.
	Now func() time.Time

	// LumuKey and KibanaAPIKey are the credentials the stand-ins accept;
	// empty means a random one (crypto/rand) per Start.
	LumuKey, KibanaAPIKey string
	// LumuRateLimit is the Lumu per-key budget per minute; 0 turns it off.
	LumuRateLimit int
	// LumuRequestsPerDay is the Lumu per-key quota of a UTC day; 0 turns
	// it off.
	LumuRequestsPerDay int
	// Kibana91 makes the Kibana stand-in emulate 9.1+ space awareness
	// (ownerSpaceId tags); the same as KibanaVersion "9.1".
	Kibana91 bool
	// KibanaVersion is the Kibana release the stand-in emulates
	// (kibanasim.ParseVersion: "8.17", "9.0", "9.1", ...); empty means
	// kibanasim.DefaultVersion.
	KibanaVersion string
	// KibanaSeedUnowned is the number of unowned blocklist items seeded in
	// Kibana; 0 means DefaultSeedUnowned, negative means none.
	KibanaSeedUnowned int
}

// Info is what a client needs to use the sandbox; the lumuctl-sandbox
// command prints it as one JSON line. It holds the keys: print it only where
// the sandbox's user asked for it.
type Info struct {
	LumuURL      string   `json:"lumu_url"`
	KibanaURL    string   `json:"kibana_url"`
	ControlURL   string   `json:"control_url"`
	LumuKey      string   `json:"lumu_key"`
	KibanaAPIKey string   `json:"kibana_api_key"`
	CompanyUUID  string   `json:"company_uuid"`
	PolicyIDs    []string `json:"policy_ids"`
}

// Sandbox is a running sandbox. Lumu and Kibana are the stand-ins, for tests
// that drive them directly.
type Sandbox struct {
	Lumu   *lumusim.Server
	Kibana *kibanasim.Server

	info    Info
	servers []*http.Server
	done    chan struct{}

	closeOnce sync.Once
	closeErr  error
	stop      func() bool // unregisters the context watcher
}

// Start generates the scenario, starts the three loopback servers and
// returns once they accept connections. When ctx is done the sandbox closes
// itself; Close does the same earlier.
func Start(ctx context.Context, opts Options) (*Sandbox, error) {
	if opts.Scenario == "" {
		opts.Scenario = lumusim.ScenarioSmall
	}
	if opts.LumuRequestsPerDay < 0 {
		return nil, fmt.Errorf("lumu daily quota must be >= 0, got %d", opts.LumuRequestsPerDay)
	}
	if opts.LumuRateLimit < 0 {
		return nil, fmt.Errorf("lumu rate limit must be >= 0, got %d", opts.LumuRateLimit)
	}
	addrs := []*string{&opts.LumuAddr, &opts.KibanaAddr, &opts.ControlAddr}
	for _, a := range addrs {
		if *a == "" {
			*a = DefaultAddr
		}
		if err := CheckLoopback(*a); err != nil {
			return nil, err
		}
	}
	if opts.KibanaVersion != "" {
		if _, err := kibanasim.ParseVersion(opts.KibanaVersion); err != nil {
			return nil, err
		}
		if opts.Kibana91 {
			return nil, fmt.Errorf("kibana-91 and kibana-version %s are both set; use one", opts.KibanaVersion)
		}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	sc, err := lumusim.GenerateScenario(opts.Scenario, opts.Seed, now())
	if err != nil {
		return nil, err
	}
	if opts.LumuKey == "" {
		opts.LumuKey = randomKey(30)
	}
	if opts.KibanaAPIKey == "" {
		opts.KibanaAPIKey = base64.StdEncoding.EncodeToString([]byte(randomKey(15) + ":" + randomKey(18)))
	}
	sc.Companies[0].Key = opts.LumuKey
	lopts := lumusim.Options{Scenario: sc, RateLimitPerMinute: opts.LumuRateLimit, RequestsPerDay: opts.LumuRequestsPerDay, Now: opts.Now}
	if err := lopts.Validate(); err != nil {
		return nil, err
	}
	seedUnowned := opts.KibanaSeedUnowned
	if seedUnowned == 0 {
		seedUnowned = DefaultSeedUnowned
	}
	if seedUnowned < 0 {
		seedUnowned = 0
	}
	policies := PolicyIDs(opts.Seed)
	sb := &Sandbox{
		Lumu: lumusim.New(lopts),
		Kibana: newKibana(kibanaOptions{
			APIKey: opts.KibanaAPIKey, PolicyIDs: policies, Space91: opts.Kibana91, Version: opts.KibanaVersion,
			SeedUnowned: seedUnowned, Seed: opts.Seed, Now: opts.Now,
		}),
		done: make(chan struct{}),
	}
	control := http.NewServeMux()
	control.Handle("/lumu/", sb.Lumu.Control())
	control.Handle("/kibana/", sb.Kibana.Control())
	control.HandleFunc("GET /info", func(w http.ResponseWriter, r *http.Request) {
		// Everything but the keys, for demos that lost the JSON line.
		i := sb.Info()
		i.LumuKey, i.KibanaAPIKey = "", ""
		w.Header().Set("Content-Type", "application/json")
		_ = jsonEncode(w, i)
	})

	handlers := []http.Handler{sb.Lumu, sb.Kibana, control}
	var urls [3]string
	for i, a := range addrs {
		ln, err := net.Listen("tcp", *a)
		if err != nil {
			sb.closeServers(context.Background())
			return nil, fmt.Errorf("listen on %s: %w", *a, err)
		}
		srv := &http.Server{Handler: handlers[i], ReadHeaderTimeout: 10 * time.Second}
		sb.servers = append(sb.servers, srv)
		urls[i] = "http://" + ln.Addr().String()
		go func() { _ = srv.Serve(ln) }()
	}
	sb.info = Info{
		LumuURL: urls[0], KibanaURL: urls[1], ControlURL: urls[2],
		LumuKey: opts.LumuKey, KibanaAPIKey: opts.KibanaAPIKey,
		CompanyUUID: sc.Companies[0].UUID, PolicyIDs: policies,
	}
	sb.stop = context.AfterFunc(ctx, func() { _ = sb.Close() })
	return sb, nil
}

// Info returns the URLs, keys and ids of the running sandbox.
func (sb *Sandbox) Info() Info {
	i := sb.info
	i.PolicyIDs = append([]string(nil), sb.info.PolicyIDs...)
	return i
}

// Done is closed once the sandbox has closed.
func (sb *Sandbox) Done() <-chan struct{} { return sb.done }

// Close shuts the servers down gracefully (in-flight requests get up to 5
// seconds), then closes them. It is safe to call more than once.
func (sb *Sandbox) Close() error {
	sb.closeOnce.Do(func() {
		if sb.stop != nil {
			sb.stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sb.closeErr = sb.closeServers(ctx)
		close(sb.done)
	})
	return sb.closeErr
}

func (sb *Sandbox) closeServers(ctx context.Context) error {
	var errs []error
	for _, srv := range sb.servers {
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			_ = srv.Close()
		}
	}
	return errors.Join(errs...)
}

// CheckLoopback returns an error unless addr is host:port with a loopback
// host (127.0.0.0/8, ::1 or localhost) and a numeric port: the sandbox
// never listens beyond the machine.
func CheckLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("address %q: want host:port on loopback, e.g. 127.0.0.1:0", addr)
	}
	var p uint16
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil || fmt.Sprint(p) != port {
		return fmt.Errorf("address %q: port %q is not a number in 0..65535", addr, port)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q: the sandbox only listens on loopback (127.0.0.1, ::1 or localhost)", addr)
	}
	return nil
}

// PolicyIDs returns the three Fleet Elastic Defend package-policy ids of the
// sandbox for seed.
func PolicyIDs(seed int64) []string {
	r := mrand.New(mrand.NewPCG(uint64(seed), 0x706f6c6963696573)) // "policies"
	ids := make([]string, 3)
	for i := range ids {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[0:], r.Uint64())
		binary.LittleEndian.PutUint64(b[8:], r.Uint64())
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		h := hex.EncodeToString(b[:])
		ids[i] = h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	}
	return ids
}

// randomKey returns n random bytes from crypto/rand, base64url-encoded.
func randomKey(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
