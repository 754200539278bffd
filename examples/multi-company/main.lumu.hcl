# multi-company: an MSSP feeding two Lumu tenants into one Kibana.
#
#   blocklist "all_tenants"  <- malware hashes of ACME and Globex (union)
#   blocklist "acme_strict"  <- a wider ACME filter, Windows only
#
# Set the keys with LUMUCTL_VAR_acme_key, LUMUCTL_VAR_globex_key and
# LUMUCTL_VAR_kibana_key, or in a lumuctl.lumuvars file that is not committed.

settings {
  # Two configurations may share a Kibana as long as their namespaces differ.
  namespace = "mssp"
}

variable "acme_key" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of ACME"
}

variable "globex_key" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of Globex"
}

variable "kibana_key" {
  type        = string
  sensitive   = true
  description = "Kibana API key"
}

variable "days" {
  type        = number
  description = "How many days of incidents to look back (1..30)"
  default     = 14
}

company "acme" {
  uuid                = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key        = var.acme_key
  name                = "ACME Corp"
  contact_email       = "soc@acme.example"
  requests_per_minute = 50
}

company "globex" {
  uuid          = "3b2f6a40-95c1-4d0e-8a8f-0c3f1e7d2b55"
  defender_key  = var.globex_key
  name          = "Globex"
  contact_name  = "Globex SOC"
  retry_timeout = "5m"
}

ioc_filter "acme_malware" {
  company         = company.acme
  hash_types      = ["sha256", "sha1"]
  adversary_types = ["Malware", "C2C"]
  days            = var.days
}

ioc_filter "globex_malware" {
  company         = company.globex
  hash_types      = ["sha256", "md5"]
  adversary_types = ["Malware", "C2C", "Mining"]
  days            = var.days
  # Known-good installers that a noisy incident once flagged.
  exclude = [
    "5d41402abc4b2a76b9719d911017c592",
  ]
}

# Everything ACME ever saw, open or closed, whether or not still active.
ioc_filter "acme_wide" {
  company         = company.acme
  hash_types      = ["sha256"]
  adversary_types = ["C2C", "Malware", "DGA", "Mining", "Spam", "Phishing"]
  days            = 30
  statuses        = ["open", "closed"]
  only_active     = false
}

kibana "soc" {
  url     = "https://kibana.soc.example:9243"
  api_key = var.kibana_key
  space   = "security"
  timeout = "45s"
}

blocklist "all_tenants" {
  kibana  = kibana.soc
  sources = [ioc_filter.acme_malware, ioc_filter.globex_malware]
}

blocklist "acme_strict" {
  kibana              = kibana.soc
  sources             = [ioc_filter.acme_wide]
  os_types            = ["windows"]
  max_values_per_item = 500
}
