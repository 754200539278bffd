package contract

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadCoversTheExceptionRoutes(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"DELETE /api/exception_lists/items",
		"GET /api/exception_lists/items",
		"GET /api/exception_lists/items/_find",
		"POST /api/exception_lists",
		"POST /api/exception_lists/items",
		"PUT /api/exception_lists/items",
	}
	if diff := cmp.Diff(want, c.Operations()); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
}

func TestDirFromEnv(t *testing.T) {
	t.Setenv(EnvDir, t.TempDir())
	if _, err := Dir(); err != nil {
		t.Fatalf("Dir with %s set to a directory: %v", EnvDir, err)
	}
	t.Setenv(EnvDir, "/nonexistent/kibana-openapi")
	if _, err := Dir(); err == nil {
		t.Fatal("Dir accepted a missing directory")
	}
}
