// Command looprss measures the memory of `lumuctl apply --every` over many
// cycles (SPEC section 9: memory must stay flat): it starts the sandbox
// in-process, runs the lumuctl binary given with -lumuctl as a loop against
// it, changes Lumu every few cycles (an incident opens, an older one
// closes), and samples the process's VmRSS and VmHWM from /proc at chosen
// cycle counts. `make soak-loop` runs it; it is a measurement, not a test.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/lumusim"
	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

func main() {
	bin := flag.String("lumuctl", "bin/lumuctl", "the lumuctl binary")
	cycles := flag.Int("cycles", 200, "cycles to run")
	every := flag.Duration("every", 100*time.Millisecond, "the loop's --every")
	scenario := flag.String("scenario", "small", "sandbox scenario (small or large)")
	churn := flag.Int("churn", 10, "change Lumu every N cycles (0: never)")
	flag.Parse()
	if err := run(*bin, *cycles, *every, *scenario, *churn); err != nil {
		log.Fatal(err)
	}
}

var cyclesRE = regexp.MustCompile(`(?m)^lumuctl_cycles_total\{outcome="(\w+)"\} (\d+)`)

func run(bin string, cycles int, every time.Duration, scenario string, churn int) error {
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Scenario: scenario, Seed: 1})
	if err != nil {
		return err
	}
	defer sb.Close()
	dir, err := os.MkdirTemp("", "looprss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := os.ReadFile("examples/sandbox/main.lumu.hcl")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.lumu.hcl"), cfg, 0o600); err != nil {
		return err
	}
	info := sb.Info()
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	cmd := exec.Command(bin, "apply", "--auto-approve", "--every", every.String(), "--metrics-listen", "127.0.0.1:0")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1",
		"LUMUCTL_VAR_lumu_url="+info.LumuURL, "LUMUCTL_VAR_lumu_key="+info.LumuKey,
		"LUMUCTL_VAR_kibana_url="+info.KibanaURL, "LUMUCTL_VAR_kibana_key="+info.KibanaAPIKey,
		"LUMUCTL_VAR_company_uuid="+info.CompanyUUID)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`Serving metrics on http://([^/\s]+)/metrics`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(time.Minute):
		return fmt.Errorf("lumuctl did not start serving metrics")
	}
	samples := map[int]bool{1: true, 10: true, 25: true, 50: true, 75: true, 100: true, 125: true, 150: true, 175: true, cycles: true}
	fmt.Printf("lumuctl apply --every %s, %s scenario, Lumu changes every %d cycles\n\n", every, scenario, churn)
	fmt.Printf("%7s %10s %10s %6s %8s %8s\n", "cycle", "VmRSS MB", "VmHWM MB", "fds", "ok", "failed")
	var open []string
	last := 0
	start := time.Now()
	for last < cycles {
		time.Sleep(every / 4)
		ok, failed, err := scrape(addr)
		if err != nil {
			return err
		}
		done := ok + failed
		for c := last + 1; c <= done; c++ {
			if churn > 0 && c%churn == 0 {
				h := fmt.Sprintf("%064x", c)
				inc, err := sb.Lumu.AddIncident(lumusim.NewIncident{AdversaryTypes: []string{"Malware"}, Hashes: map[lumusim.HashType][]string{lumusim.SHA256: {h}}})
				if err != nil {
					return err
				}
				open = append(open, inc.ID)
				if len(open) > 3 {
					if err := sb.Lumu.CloseIncident(open[0], "aged"); err != nil {
						return err
					}
					open = open[1:]
				}
			}
			if samples[c] {
				rss, hwm, err := vm(cmd.Process.Pid)
				if err != nil {
					return err
				}
				fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid))
				fmt.Printf("%7d %10.1f %10.1f %6d %8d %8d\n", c, rss, hwm, len(fds), ok, failed)
			}
		}
		last = done
	}
	elapsed := time.Since(start)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	werr := cmd.Wait()
	fmt.Printf("\n%d cycles in %s; SIGTERM: %v\n", last, elapsed.Round(time.Millisecond), exitText(werr))
	return nil
}

func scrape(addr string) (ok, failed int, err error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range cyclesRE.FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "success" {
			ok += n
		} else {
			failed += n
		}
	}
	return ok, failed, nil
}

// vm reads VmRSS and VmHWM (peak RSS) of pid, in MB.
func vm(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm, nil
}

func exitText(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
