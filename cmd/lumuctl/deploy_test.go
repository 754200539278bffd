package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lumuctl/lumuctl/cmd/lumuctl/internal/cli"
	"github.com/lumuctl/lumuctl/engine/config"
)

// The deployments of examples/deploy and the root Dockerfile (SPEC section
// 9) are checked here as far as this machine can: the systemd units by
// systemd-analyze verify, the rest structurally. Every lumuctl command line
// they hold must parse with the real command tree (`... --help` exits 0).
// The image itself is built and inspected by `make image-test`
// (docs/operating.md says why that is not part of `make test`).

var repoRoot = filepath.Join("..", "..")

func deployFile(t *testing.T, parts ...string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(append([]string{repoRoot}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// checkLumuctlArgs runs args with --help appended through the real command
// tree: an unknown command or flag, or a malformed flag value, fails.
func checkLumuctlArgs(t *testing.T, where string, args []string) {
	t.Helper()
	if len(args) == 0 {
		t.Fatalf("%s: no lumuctl arguments", where)
	}
	// --chdir would move the whole test process: come back.
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out bytes.Buffer
	code := cli.Run(context.Background(), append(append([]string(nil), args...), "--help"), cli.Streams{In: strings.NewReader(""), Out: &out, Err: &out})
	if code != 0 {
		t.Errorf("%s: lumuctl %s: exit %d:\n%s", where, strings.Join(args, " "), code, out.String())
	}
	if !strings.Contains(out.String(), "Usage:") {
		t.Errorf("%s: lumuctl %s --help printed no usage:\n%s", where, strings.Join(args, " "), out.String())
	}
}

func TestDeploySystemdVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is needed to verify examples/deploy/*.service and *.timer; install it with: apt-get install -y systemd")
	}
	dir := t.TempDir()
	// verify checks that ExecStart's program exists and is executable:
	// point it at a stand-in with the same arguments.
	stub := filepath.Join(dir, "lumuctl")
	if err := os.WriteFile(stub, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	service := deployFile(t, "examples", "deploy", "lumuctl.service")
	const bin = "/usr/local/bin/lumuctl "
	if n := strings.Count(service, "ExecStart="+bin); n != 1 {
		t.Fatalf("lumuctl.service: want one ExecStart=%s..., found %d", bin, n)
	}
	var execArgs []string
	for _, line := range strings.Split(service, "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="+bin); ok {
			execArgs = strings.Fields(rest)
		}
	}
	checkLumuctlArgs(t, "lumuctl.service ExecStart", execArgs)
	if !slicesContain(execArgs, "--metrics-file") || !slicesContain(execArgs, "--auto-approve") {
		t.Errorf("lumuctl.service: ExecStart must use --auto-approve and --metrics-file: %v", execArgs)
	}
	service = strings.Replace(service, "ExecStart="+bin, "ExecStart="+stub+" ", 1)
	if err := os.WriteFile(filepath.Join(dir, "lumuctl.service"), []byte(service), 0o644); err != nil {
		t.Fatal(err)
	}
	timer := deployFile(t, "examples", "deploy", "lumuctl.timer")
	if !strings.Contains(timer, "\nOnCalendar=*:0/30\n") {
		t.Errorf("lumuctl.timer: want OnCalendar=*:0/30 (every 30 minutes)")
	}
	if err := os.WriteFile(filepath.Join(dir, "lumuctl.timer"), []byte(timer), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "lumuctl.service", "lumuctl.timer")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	// verify exits 0 on unknown keys and only prints them: any output fails.
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cronFieldRE is one field of a cron schedule: *, a number, a range, a
// list, with an optional step.
var cronFieldRE = regexp.MustCompile(`^(\*|\d+(-\d+)?)(/\d+)?(,(\d+(-\d+)?)(/\d+)?)*$`)

// checkCronSchedule checks five cron fields against their ranges.
func checkCronSchedule(t *testing.T, where string, fields []string) {
	t.Helper()
	limits := [][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
	if len(fields) != 5 {
		t.Fatalf("%s: want 5 schedule fields, got %v", where, fields)
	}
	for i, f := range fields {
		if !cronFieldRE.MatchString(f) {
			t.Errorf("%s: schedule field %d %q is malformed", where, i+1, f)
			continue
		}
		for _, n := range regexp.MustCompile(`\d+`).FindAllString(f, -1) {
			v, _ := strconv.Atoi(n)
			if strings.Contains(f, "/"+n) {
				if v < 1 {
					t.Errorf("%s: step %d in %q", where, v, f)
				}
				continue
			}
			if v < limits[i][0] || v > limits[i][1] {
				t.Errorf("%s: %d out of range %v in field %q", where, v, limits[i], f)
			}
		}
	}
}

func TestDeployCron(t *testing.T) {
	text := deployFile(t, "examples", "deploy", "lumuctl.cron")
	var jobs []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || regexp.MustCompile(`^[A-Z_]+=`).MatchString(line) {
			continue
		}
		jobs = append(jobs, line)
	}
	if len(jobs) != 1 {
		t.Fatalf("lumuctl.cron: want one job line, got %d", len(jobs))
	}
	f := strings.Fields(jobs[0])
	if len(f) < 8 {
		t.Fatalf("lumuctl.cron: want schedule, user and command: %q", jobs[0])
	}
	checkCronSchedule(t, "lumuctl.cron", f[:5])
	if f[5] != "lumuctl" {
		t.Errorf("lumuctl.cron: runs as %q, want the lumuctl user (an /etc/cron.d line names the user)", f[5])
	}
	if f[6] != "lumuctl" {
		t.Fatalf("lumuctl.cron: command %q, want lumuctl", f[6])
	}
	var args []string
	for _, a := range f[7:] {
		if strings.HasPrefix(a, ">") || strings.HasPrefix(a, "2>") {
			break
		}
		args = append(args, a)
	}
	checkLumuctlArgs(t, "lumuctl.cron", args)
	if !slicesContain(args, "--metrics-file") || !slicesContain(args, "--input=false") {
		t.Errorf("lumuctl.cron: want --metrics-file and --input=false: %v", args)
	}
}

// k8sObject is the part of a Kubernetes object the test reads.
type k8sObject struct {
	APIVersion string                           `yaml:"apiVersion"`
	Kind       string                           `yaml:"kind"`
	Metadata   struct{ Name, Namespace string } `yaml:"metadata"`
	Data       map[string]string                `yaml:"data"`
	Spec       yaml.Node                        `yaml:"spec"`
}

type k8sCronJobSpec struct {
	Schedule          string `yaml:"schedule"`
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
	JobTemplate       struct {
		Spec struct {
			Template struct {
				Spec k8sPodSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	} `yaml:"jobTemplate"`
}

type k8sPodSpec struct {
	RestartPolicy   string `yaml:"restartPolicy"`
	SecurityContext struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    int   `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		EnvFrom []struct {
			SecretRef *struct{ Name string } `yaml:"secretRef"`
		} `yaml:"envFrom"`
		SecurityContext struct {
			AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
			ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
	Volumes []struct {
		Name      string                 `yaml:"name"`
		ConfigMap *struct{ Name string } `yaml:"configMap"`
		PVC       *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		EmptyDir any `yaml:"emptyDir"`
	} `yaml:"volumes"`
}

func TestDeployKubernetes(t *testing.T) {
	dec := yaml.NewDecoder(strings.NewReader(deployFile(t, "examples", "deploy", "kubernetes-cronjob.yaml")))
	dec.KnownFields(true)
	objs := map[string]k8sObject{}
	for {
		var o k8sObject
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("kubernetes-cronjob.yaml: %v", err)
		}
		if o.APIVersion == "" || o.Metadata.Name == "" {
			t.Fatalf("kubernetes-cronjob.yaml: an object without apiVersion or metadata.name: %+v", o)
		}
		objs[o.Kind+"/"+o.Metadata.Name] = o
	}
	cj, ok := objs["CronJob/lumuctl"]
	if !ok || cj.APIVersion != "batch/v1" {
		t.Fatalf("kubernetes-cronjob.yaml: want a batch/v1 CronJob lumuctl, have %v", keys(objs))
	}
	var spec k8sCronJobSpec
	if err := cj.Spec.Decode(&spec); err != nil {
		t.Fatal(err)
	}
	checkCronSchedule(t, "CronJob schedule", strings.Fields(spec.Schedule))
	if spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("CronJob: concurrencyPolicy %q, want Forbid", spec.ConcurrencyPolicy)
	}
	pod := spec.JobTemplate.Spec.Template.Spec
	if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
		t.Errorf("CronJob: restartPolicy %q must be Never or OnFailure", pod.RestartPolicy)
	}
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser != 65532 {
		t.Errorf("CronJob: want runAsNonRoot and runAsUser 65532 (the image's user)")
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("CronJob: want one container, got %d", len(pod.Containers))
	}
	c := pod.Containers[0]
	if len(c.Command) != 0 {
		t.Errorf("CronJob: command %v replaces the image's ENTRYPOINT; use args", c.Command)
	}
	checkLumuctlArgs(t, "CronJob args", c.Args)
	if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation ||
		c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("CronJob: want allowPrivilegeEscalation false and readOnlyRootFilesystem true")
	}
	secret := false
	for _, e := range c.EnvFrom {
		if e.SecretRef != nil && e.SecretRef.Name != "" {
			secret = true
		}
	}
	if !secret {
		t.Errorf("CronJob: the keys must come from a Secret (envFrom secretRef)")
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
		if v.ConfigMap != nil {
			if _, ok := objs["ConfigMap/"+v.ConfigMap.Name]; !ok {
				t.Errorf("volume %s: ConfigMap %s is not in the manifest", v.Name, v.ConfigMap.Name)
			}
		}
		if v.PVC != nil {
			if _, ok := objs["PersistentVolumeClaim/"+v.PVC.ClaimName]; !ok {
				t.Errorf("volume %s: PersistentVolumeClaim %s is not in the manifest", v.Name, v.PVC.ClaimName)
			}
		}
	}
	writable := map[string]bool{}
	configDir := ""
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("volumeMount %s names no volume", m.Name)
		}
		if !m.ReadOnly {
			writable[m.MountPath] = true
		}
		if m.Name == "config" {
			configDir = m.MountPath
		}
	}
	if i := indexOf(c.Args, "--chdir"); i < 0 || i+1 >= len(c.Args) || c.Args[i+1] != configDir {
		t.Errorf("CronJob: args must --chdir into the configuration mount %q: %v", configDir, c.Args)
	}
	// The ConfigMap's configuration loads, and its state and cache live on
	// a writable mount (the root filesystem is read-only).
	cm := objs["ConfigMap/lumuctl-config"]
	if want := deployFile(t, "examples", "deploy", "main.lumu.hcl"); cm.Data["main.lumu.hcl"] != want {
		t.Errorf("the ConfigMap's main.lumu.hcl differs from examples/deploy/main.lumu.hcl")
	}
	dir := t.TempDir()
	for name, text := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := config.NewParser().LoadDir(dir, config.LoadOptions{Offline: true})
	if diags.HasErrors() || cfg == nil {
		t.Fatalf("the ConfigMap's configuration does not load: %v", diags)
	}
	for _, p := range []string{cfg.Settings.StatePath, cfg.Settings.CachePath} {
		if !filepath.IsAbs(p) || !writable[filepath.Dir(p)] {
			t.Errorf("%s is not on a writable volume mount %v", p, keys(writable))
		}
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// dockerInstr is one Dockerfile instruction.
type dockerInstr struct {
	line int
	cmd  string // upper case
	args string
}

// parseDockerfile joins continuation lines and drops comments.
func parseDockerfile(t *testing.T, text string) []dockerInstr {
	t.Helper()
	var out []dockerInstr
	var cur *dockerInstr
	for i, line := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(line)
		if cur == nil && (trim == "" || strings.HasPrefix(trim, "#")) {
			continue
		}
		if cur == nil {
			cmd, args, _ := strings.Cut(trim, " ")
			cur = &dockerInstr{line: i + 1, cmd: strings.ToUpper(cmd), args: ""}
			trim = args
		}
		cont := strings.HasSuffix(trim, "\\")
		cur.args += " " + strings.TrimSuffix(trim, "\\")
		if !cont {
			cur.args = strings.Join(strings.Fields(cur.args), " ")
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatalf("Dockerfile:%d: continuation at end of file", cur.line)
	}
	return out
}

func TestDockerfile(t *testing.T) {
	known := map[string]bool{"FROM": true, "WORKDIR": true, "COPY": true, "RUN": true, "ARG": true, "ENV": true, "USER": true, "VOLUME": true, "ENTRYPOINT": true, "CMD": true, "LABEL": true, "EXPOSE": true}
	instrs := parseDockerfile(t, deployFile(t, "Dockerfile"))
	stages := map[string]bool{}
	var final []dockerInstr
	gomod := deployFile(t, "go.mod")
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	for _, in := range instrs {
		if !known[in.cmd] {
			t.Errorf("Dockerfile:%d: unknown instruction %s", in.line, in.cmd)
		}
		switch in.cmd {
		case "FROM":
			f := strings.Fields(in.args)
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				stages[f[2]] = true
			}
			if strings.HasPrefix(f[0], "golang:") && goVersion != nil && f[0] != "golang:"+goVersion[1] {
				t.Errorf("Dockerfile:%d: %s does not match go.mod's go %s", in.line, f[0], goVersion[1])
			}
			final = nil
		case "COPY":
			for _, m := range regexp.MustCompile(`--from=(\S+)`).FindAllStringSubmatch(in.args, -1) {
				if !stages[m[1]] {
					t.Errorf("Dockerfile:%d: COPY --from=%s names no earlier stage", in.line, m[1])
				}
			}
		case "RUN":
			for _, m := range regexp.MustCompile(`(examples/\S+\.sh)`).FindAllStringSubmatch(in.args, -1) {
				if _, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil {
					t.Errorf("Dockerfile:%d: %v", in.line, err)
				}
			}
		}
		final = append(final, in)
	}
	if len(final) == 0 || final[0].args != "scratch" {
		t.Fatalf("Dockerfile: the final stage must be FROM scratch (a static binary needs nothing else)")
	}
	last := map[string]string{}
	for _, in := range final {
		last[in.cmd] = in.args
	}
	if u := last["USER"]; u == "" || strings.HasPrefix(u, "0") || strings.HasPrefix(u, "root") {
		t.Errorf("Dockerfile: the image must run as a non-root USER, got %q", u)
	}
	rootfs := deployFile(t, "examples", "deploy", "image", "rootfs.sh")
	uid, _, _ := strings.Cut(last["USER"], ":")
	if !strings.Contains(rootfs, "lumuctl:x:"+uid+":") {
		t.Errorf("rootfs.sh: /etc/passwd has no lumuctl user with uid %s (the image's USER)", uid)
	}
	for _, want := range []string{"CGO_ENABLED=0", "ca-certificates.crt"} {
		if !strings.Contains(rootfs, want) {
			t.Errorf("rootfs.sh: %s missing (static binary, CA certificates)", want)
		}
	}
	var ep, vol []string
	if err := json.Unmarshal([]byte(last["ENTRYPOINT"]), &ep); err != nil || len(ep) != 1 || ep[0] != "lumuctl" {
		t.Errorf(`Dockerfile: want ENTRYPOINT ["lumuctl"], got %q`, last["ENTRYPOINT"])
	}
	if err := json.Unmarshal([]byte(last["VOLUME"]), &vol); err != nil || len(vol) != 1 || vol[0] != "/var/lib/lumuctl" {
		t.Errorf(`Dockerfile: want VOLUME ["/var/lib/lumuctl"], got %q`, last["VOLUME"])
	}
	if last["WORKDIR"] != "/var/lib/lumuctl" {
		t.Errorf("Dockerfile: want WORKDIR /var/lib/lumuctl, got %q", last["WORKDIR"])
	}
	if !strings.Contains(last["ENV"], "PATH=/usr/local/bin") {
		t.Errorf("Dockerfile: FROM scratch has no PATH; ENV must set PATH=/usr/local/bin for ENTRYPOINT [\"lumuctl\"]")
	}
	if !strings.Contains(deployFile(t, "Makefile"), "--build-context build=") {
		t.Errorf("Makefile: make image must hand the locally built root filesystem in as the build stage")
	}
}
