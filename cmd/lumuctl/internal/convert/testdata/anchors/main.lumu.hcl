# Converted by "lumuctl convert" from companies.yml and integrations.yml.
# Keys are variables: set them in lumuctl.lumuvars (see lumuctl.lumuvars.example)
# or as LUMUCTL_VAR_<name> environment variables.

variable "lumu_key_acme" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of company ACME (10228d9c-ff18-4251-ac19-514185e00f17)"
}

variable "lumu_key_acme_eu" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of company ACME EU (5e7a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b)"
}

variable "kibana_key_kb" {
  type        = string
  sensitive   = true
  description = "Kibana API key for https://kb.example.com"
}

# From companies.yml line 1.
company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key_acme
  name         = "ACME"
}

ioc_filter "acme" {
  company         = company.acme
  ioc_types       = ["hash"]
  hash_types      = ["sha256"]
  adversary_types = ["C2C", "Malware"]
  days            = 3
}

# From companies.yml line 9.
company "acme_eu" {
  uuid         = "5e7a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
  defender_key = var.lumu_key_acme_eu
  name         = "ACME EU"
}

ioc_filter "acme_eu" {
  company         = company.acme_eu
  ioc_types       = ["hash"]
  hash_types      = ["sha256"]
  adversary_types = ["C2C", "Malware"]
  days            = 3
}

kibana "kb" {
  url     = "https://kb.example.com"
  api_key = var.kibana_key_kb
}

# From integrations.yml line 1 (company acme).
blocklist "acme" {
  kibana   = kibana.kb
  sources  = [ioc_filter.acme]
  policies = ["all"]
}

# From integrations.yml line 4 (company acme_eu).
blocklist "acme_eu" {
  kibana   = kibana.kb
  sources  = [ioc_filter.acme_eu]
  policies = ["all"]
}
