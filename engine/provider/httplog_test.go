package provider

import (
	"net/url"
	"testing"
	"time"
)

func TestOrigin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://k.example:9243", "https://k.example:9243"},
		{"https://k.example", "https://k.example:443"},
		{"http://k.example/", "http://k.example:80"},
		{"https://user:secret@k.example/base/s/sec?key=secret#frag", "https://k.example:443/base/s/sec"},
		{"http://[::1]/kibana", "http://[::1]:80/kibana"},
		{"http://[::1]:5601", "http://[::1]:5601"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := Origin(u); got != tt.want {
			t.Errorf("Origin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	u, _ := url.Parse("https://k.example:9243")
	if got, want := Endpoint("kibana", "prod", u), `kibana "prod" (https://k.example:9243)`; got != want {
		t.Errorf("Endpoint = %q, want %q", got, want)
	}
}

func TestHTTPRetryString(t *testing.T) {
	r := HTTPRetry{Client: `kibana "prod" (https://k.example:9243)`, Cause: "connection refused",
		Retry: 3, Wait: 8*time.Second + 123*time.Millisecond, GiveUpIn: 100*time.Second + 400*time.Millisecond}
	want := `kibana "prod" (https://k.example:9243): connection refused; retry 3 in 8.1s, giving up in 1m40s`
	if got := r.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
	r.Wait = 437 * time.Millisecond
	if got := r.String(); got != `kibana "prod" (https://k.example:9243): connection refused; retry 3 in 437ms, giving up in 1m40s` {
		t.Errorf("String() = %s", got)
	}
}
