# Converted by "lumuctl convert" from companies.yml and integrations.yml.
# Keys are variables: set them in lumuctl.lumuvars (see lumuctl.lumuvars.example)
# or as LUMUCTL_VAR_<name> environment variables.

variable "lumu_key_acme" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of company ACME (10228d9c-ff18-4251-ac19-514185e00f17)"
}

variable "kibana_key_kb" {
  type        = string
  sensitive   = true
  description = "Kibana API key for https://kb.example.com"
}

# From companies.yml line 1.
company "acme" {
  uuid          = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key  = var.lumu_key_acme
  name          = "ACME"
  contact_name  = "SOC team"
  contact_email = "soc@acme.example"
}

ioc_filter "acme" {
  company         = company.acme
  ioc_types       = ["hash"]
  hash_types      = ["sha256"]
  adversary_types = ["C2C", "Malware", "Mining", "Spam", "Phishing"]
  days            = 3
}

kibana "kb" {
  url     = "https://kb.example.com"
  api_key = var.kibana_key_kb
}

# From integrations.yml line 1 (company acme).
blocklist "acme_windows_servers" {
  kibana   = kibana.kb
  sources  = [ioc_filter.acme]
  policies = ["0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "9f3c1b2a-0d4e-4f5a-8b6c-7d8e9f0a1b2c"]
}

# From integrations.yml line 12 (company acme).
blocklist "acme_all" {
  kibana   = kibana.kb
  sources  = [ioc_filter.acme]
  policies = ["all"]
}

# From integrations.yml line 20 (company acme).
blocklist "acme_default" {
  kibana   = kibana.kb
  sources  = [ioc_filter.acme]
  policies = ["all"]
}
