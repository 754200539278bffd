package config

import "testing"

func TestScrubURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://u:PASS@host/?key=K":      "http://…@host/?…",
		"https://host:9243/base":         "https://host:9243/base",
		"https://host/#frag":             "https://host/#…",
		"ftp://a@b":                      "ftp://…@b",
		"host/path?key=K":                "host/path?…",
		"http://p@ss@host/x@y":           "http://…@host/x@y",
		"::not a url u:p@x?key=K":        "…@x?…",
		"https://host/a?b@c":             "https://host/a?…",
		"http://user:PASS@[::1]:80/base": "http://…@[::1]:80/base",
	} {
		if got := ScrubURL(in); got != want {
			t.Errorf("ScrubURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMayHoldSecret(t *testing.T) {
	for line, want := range map[string]bool{
		`  api_key = var.kibana_key`:          false,
		`  defender_key=var.lumu_key`:         false,
		`  api_key = "literal`:                true,
		`  api_key = BAREKEY`:                 true,
		`  defender_key = <<EOT`:              true,
		`  default = "x"`:                     true,
		`  url = "https://kibana:9243"`:       false,
		`  url = "https://u:p@kibana:9243"`:   true,
		`  api_url = "https://h/?key=K"`:      true,
		`  name = "ACME"`:                     false,
		`  description = "the default is 30"`: false,
		`  sources = [ioc_filter.malware]`:    false,
	} {
		if got := MayHoldSecret([]byte(line)); got != want {
			t.Errorf("MayHoldSecret(%q) = %v, want %v", line, got, want)
		}
	}
}
