package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lumuctl/lumuctl/cmd/lumuctl-sandbox/sandbox"
)

// Helper subcommands for scripts (make demo) that should not need curl or
// jq:
//
//	lumuctl-sandbox env INFO.json         print export lines for lumuctl
//	lumuctl-sandbox ctl INFO.json METHOD PATH [JSON]
//	lumuctl-sandbox close-incidents INFO.json N [ADVERSARY_TYPE]

func readInfo(path string) (sandbox.Info, error) {
	var info sandbox.Info
	data, err := os.ReadFile(path)
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return info, fmt.Errorf("%s: not a sandbox ready line: %w", path, err)
	}
	return info, nil
}

// cmdEnv prints shell export lines that point examples/sandbox at the
// sandbox described by the ready line in args[0].
func cmdEnv(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errUsage
	}
	info, err := readInfo(args[0])
	if err != nil {
		return err
	}
	vars := [][2]string{
		{"LUMUCTL_VAR_lumu_url", info.LumuURL},
		{"LUMUCTL_VAR_lumu_key", info.LumuKey},
		{"LUMUCTL_VAR_company_uuid", info.CompanyUUID},
		{"LUMUCTL_VAR_kibana_url", info.KibanaURL},
		{"LUMUCTL_VAR_kibana_key", info.KibanaAPIKey},
	}
	for _, v := range vars {
		fmt.Fprintf(stdout, "export %s='%s'\n", v[0], strings.ReplaceAll(v[1], "'", `'\''`))
	}
	return nil
}

func control(info sandbox.Info, method, path, body string) ([]byte, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, info.ControlURL+path, r)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return data, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	return data, nil
}

// cmdCtl calls the control API and prints the answer.
func cmdCtl(args []string, stdout io.Writer) error {
	if len(args) < 3 || len(args) > 4 {
		return errUsage
	}
	info, err := readInfo(args[0])
	if err != nil {
		return err
	}
	body := ""
	if len(args) == 4 {
		body = args[3]
	}
	data, err := control(info, strings.ToUpper(args[1]), args[2], body)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", strings.TrimSpace(string(data)))
	return err
}

// cmdCloseIncidents closes the N most recent open incidents (of one
// adversary type, if given) and prints their ids.
func cmdCloseIncidents(args []string, stdout io.Writer) error {
	if len(args) < 2 || len(args) > 3 {
		return errUsage
	}
	info, err := readInfo(args[0])
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 1 {
		return fmt.Errorf("the count N must be a positive number, got %q", args[1])
	}
	data, err := control(info, "GET", "/lumu/incidents?status=open", "")
	if err != nil {
		return err
	}
	var open []struct {
		ID             string   `json:"id"`
		AdversaryTypes []string `json:"adversary_types"`
	}
	if err := json.Unmarshal(data, &open); err != nil {
		return fmt.Errorf("decode incident list: %w", err)
	}
	closed := 0
	for _, inc := range open {
		if closed == n {
			break
		}
		if len(args) == 3 && !contains(inc.AdversaryTypes, args[2]) {
			continue
		}
		if _, err := control(info, "POST", "/lumu/incidents/"+inc.ID+"/close", ""); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "closed incident %s (%s)\n", inc.ID, strings.Join(inc.AdversaryTypes, ", "))
		closed++
	}
	if closed < n {
		return fmt.Errorf("closed %d incidents, fewer than the %d asked for", closed, n)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
