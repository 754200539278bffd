// Command lumuctl-bench runs the benchmarks of SPEC section 8 (issue 6,
// point 5) side by side in one run, prints a table and writes every figure
// to a JSON file (docs/bench/results.json by default). `make bench` runs it.
//
// It owns the benchmark driver only: it builds the real lumuctl binary into
// a temporary directory (`go build`), starts the sandbox in-process (package
// sandbox), shapes the Lumu side through lumusim's Go API (closing, adding
// and touching incidents), runs `lumuctl init|plan|apply` as subprocesses
// and reads the counters of both stand-ins. It does not own lumuctl, the
// stand-ins or the Go micro-benchmarks (those live in *_bench_test.go files
// next to the code they measure).
//
// The measurements (-skip takes their names: writes, reference, growth,
// crash, quota, large, apply, window, backend):
//
//  1. writes: Kibana item writes (counted at the stand-in) for an initial sync
//     of -hashes sha256 hashes on one OS, then for 1% and 10% churn, next to
//     the packing's lower bound (pack.LowerBound on the items Kibana held
//     before the change and the desired set after it) and to the
//     one-item-per-hash layout of a generic Terraform exception-item
//     resource (initial: one create per hash; churn: one delete per removed
//     and one create per added hash). The plan file of each change is
//     saved with `plan --out` first and its size on disk reported.
//  2. lumu: Lumu calls (list pages, contexts) of cold, warm and K-changed
//     plans on the large scenario, next to the minimum of SPEC section 8
//     computed from the scenario (only_active skips the remaining hash
//     types of an inactive incident).
//  3. plan: wall time and peak RSS (rusage Maxrss of the subprocess) of the
//     same cold and warm plans, against the 5 s / 300 MB targets.
//  4. apply: wall time of `apply PLANFILE` for the initial sync with the
//     Kibana stand-in sleeping -latency per POST items, at each
//     -parallelism, next to the time the one-item-per-hash layout would
//     take (its writes × latency / parallelism).
//  6. backend (issue 13): the large scenario's cold plan, warm plan to a
//     file and apply of it, with the bbolt files and with the PostgreSQL
//     backend (a throwaway server from pgstore/pgtest, loopback, fsync on),
//     each on a fresh sandbox of the same seed; the PostgreSQL times must
//     stay within 1.5× of bbolt's; the state's size (file, or the schema's
//     tables without the cache) after the apply.
//  7. reference, growth: worlds of the reference shape (20 sha256 per
//     incident, three OSes, max 1000) of -ref-hashes (200,000) and of each
//     -growth size: the initial plan saved and measured (plan file size),
//     applied, then no-change plans timed (wall, CPU, peak RSS; median of
//     three, one run at sizes above the reference); a 1% change of the
//     reference world saved and measured; the growth fitted as n^b.
//  8. crash: the initial sync SIGKILLed while writes are held at Kibana
//     (they land after the kill); the next apply's time to its first write
//     (stand-in log), next to the killed run's own; duplicates after the
//     late writes landed; a following plan must find no change.
//  9. quota: the large scenario's cold start under requests_per_day and
//     requests_per_minute, lumuctl's Lumu source in this process against
//     the Lumu stand-in on one simulated clock, a run every -quota-every;
//     requests per simulated UTC day counted at the stand-in.
//
// At the end, summary.go turns every measurement into the SPEC section 8
// table (issue 15's rows first): measured, target, met, alternative.
//
// Start at main.go (flags and the order of the runs); world.go builds the
// sandboxes, lumuctl.go runs the binary, figures.go holds the pure
// computations (tested) and report.go the table and JSON.
package main
