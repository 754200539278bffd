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
		"GET /api/exception_lists",
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

// TestLoadNeedsNothingOutsideThePackage pins hermeticity: the contract is
// embedded, so loading works from any working directory.
func TestLoadNeedsNothingOutsideThePackage(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := Load(); err != nil {
		t.Fatalf("Load outside the repository: %v", err)
	}
}

func TestLoadDataRefusesAnInvalidDocument(t *testing.T) {
	if _, err := LoadData([]byte("openapi: 3.0.0\npaths: {/x: {get: {responses: {}}}}\n")); err == nil {
		t.Fatal("LoadData accepted a document without info")
	}
}
