package cli

import (
	"bytes"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolveVersion(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{
			GoVersion: "go1.99.1",
			Main:      debug.Module{Path: "github.com/lumuctl/lumuctl", Version: "(devel)"},
			Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}},
		}
	}
	tests := []struct {
		name          string
		ldVer, ldComm string
		bi            *debug.BuildInfo
		want          versionInfo
	}{
		{"nothing known", "", "", nil, versionInfo{"dev", "unknown", runtime.Version(), platform}},
		{"ldflags win", "v1.2.3", "abc1234", vcs("0123456789abcdef0123", "true"),
			versionInfo{"v1.2.3", "abc1234", "go1.99.1", platform}},
		{"vcs revision shortened", "", "", vcs("0123456789abcdef0123", "false"),
			versionInfo{"dev", "0123456789ab", "go1.99.1", platform}},
		{"vcs dirty", "", "", vcs("0123456789abcdef0123", "true"),
			versionInfo{"dev", "0123456789ab-dirty", "go1.99.1", platform}},
		{"go install module@version", "", "", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v0.4.0"}},
			versionInfo{"v0.4.0", "unknown", "go1.99.1", platform}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolveVersion(tt.ldVer, tt.ldComm, tt.bi)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(versionInfo{})); diff != "" {
				t.Errorf("resolveVersion mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunVersion(t *testing.T) {
	v := versionInfo{Version: "v1.2.3", Commit: "abc1234", GoVersion: "go1.99.1", Platform: "linux/amd64"}
	tests := []struct {
		name  string
		flags versionFlags
		want  string
	}{
		{"human", versionFlags{}, "lumuctl v1.2.3\ncommit abc1234\ngo1.99.1 linux/amd64\n"},
		{"json", versionFlags{json: true}, "{\n  \"version\": \"v1.2.3\",\n  \"commit\": \"abc1234\",\n  \"go_version\": \"go1.99.1\",\n  \"platform\": \"linux/amd64\"\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := runVersion(&globals{streams: Streams{Out: &out}}, tt.flags, v); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
			if tt.flags.json {
				var back versionInfo
				if err := json.Unmarshal(out.Bytes(), &back); err != nil || back != v {
					t.Errorf("JSON does not round-trip: %v, %+v", err, back)
				}
			}
		})
	}
}
