package cli

// ExampleConfig is the starter configuration `lumuctl init --example` writes.
// It validates without warnings and is in canonical format (tests check both).
const ExampleConfig = `# lumuctl configuration: Lumu Defender incidents -> Elastic Defend Blocklist.
#
# Every *.lumu.hcl file in this directory is part of the configuration.
# Check it with "lumuctl validate", preview changes with "lumuctl plan" and
# make them with "lumuctl apply". Reference: docs/configuration.md.

# Optional. Where lumuctl keeps its files, and the namespace that marks the
# Kibana items this configuration owns (lowercase letters, digits, "_").
settings {
  state_path = ".lumuctl/state.db"
  cache_path = ".lumuctl/cache.db"
  namespace  = "default"
}

# Credentials are variables marked sensitive: they are redacted everywhere.
# Give them values with environment variables (LUMUCTL_VAR_lumu_key=...), a
# lumuctl.lumuvars file kept out of version control, or --var.
variable "lumu_key" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key"
}

variable "kibana_key" {
  type        = string
  sensitive   = true
  description = "Kibana API key allowed to manage Elastic Defend blocklists"
}

# A Lumu tenant. Replace the UUID with your company's.
company "main" {
  uuid         = "00000000-0000-4000-8000-000000000000"
  defender_key = var.lumu_key
  name         = "My company"
}

# Which incidents count, and which hashes to take from them.
ioc_filter "malware" {
  company         = company.main
  ioc_types       = ["hash"]
  hash_types      = ["sha256"]
  adversary_types = ["C2C", "Malware", "Mining", "Spam", "Phishing"]
  days            = 30
  statuses        = ["open"]
  only_active     = true
  exclude         = []
}

# The Kibana that hosts Elastic Defend.
kibana "prod" {
  url     = "https://kibana.example.com:9243"
  api_key = var.kibana_key
}

# The blocklist lumuctl keeps in step with the filter above.
blocklist "lumu" {
  kibana   = kibana.prod
  sources  = [ioc_filter.malware]
  policies = ["all"]
  os_types = ["windows", "macos", "linux"]

  # Safety net: refuse plans that would unblock too much at once.
  guard {
    max_delete_fraction = 0.25
    max_deletes         = 5000
    allow_empty_sources = false
  }
}
`
