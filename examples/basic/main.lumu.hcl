# basic: one Lumu company, one filter, one global blocklist.
#
# Credentials never live in this file: set them with
#   export LUMUCTL_VAR_lumu_key=...   LUMUCTL_VAR_kibana_key=...
# or in a lumuctl.lumuvars file kept out of version control.

variable "lumu_key" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of ACME"
}

variable "kibana_key" {
  type        = string
  sensitive   = true
  description = "Kibana API key with the Elastic Defend blocklist privilege"
}

variable "kibana_url" {
  type        = string
  description = "Base URL of Kibana"
  default     = "https://kibana.example.com:9243"
}

company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key
  name         = "ACME Corp"
}

# Malware and C2 file hashes seen in the last 30 days of open incidents.
ioc_filter "malware_hashes" {
  company         = company.acme
  hash_types      = ["sha256"]
  adversary_types = ["C2C", "Malware"]
  days            = 30
  statuses        = ["open"]
}

kibana "prod" {
  url     = var.kibana_url
  api_key = var.kibana_key
}

# One global blocklist on every OS: policies and os_types keep their defaults
# (["all"] and ["windows", "macos", "linux"]).
blocklist "lumu" {
  kibana  = kibana.prod
  sources = [ioc_filter.malware_hashes]
}
