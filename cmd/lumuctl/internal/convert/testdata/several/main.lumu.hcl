# Converted by "lumuctl convert" from companies.yml and integrations.yml.
# Keys are variables: set them in lumuctl.lumuvars (see lumuctl.lumuvars.example)
# or as LUMUCTL_VAR_<name> environment variables.

variable "lumu_key_acme" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of company ACME (10228d9c-ff18-4251-ac19-514185e00f17)"
}

variable "lumu_key_globex_corporation_inc" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of company Globex Corporation, Inc. (5e7a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b)"
}

variable "lumu_key_company_c0ffee00" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of company c0ffee00-1234-4abc-9def-0123456789ab"
}

variable "kibana_key_prod" {
  type        = string
  sensitive   = true
  description = "Kibana API key for https://prod.kb.example.com:9243"
}

variable "kibana_key_prod_2" {
  type        = string
  sensitive   = true
  description = "Kibana API key for https://prod.kb.example.com:9243"
}

variable "kibana_key_kibana" {
  type        = string
  sensitive   = true
  description = "Kibana API key for http://10.1.2.3:5601"
}

# From companies.yml line 1.
company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key_acme
  name         = "ACME"
}

ioc_filter "acme" {
  # companies.yml ioc_types: hash, ip, domain, url; a blocklist can only block hashes.
  company         = company.acme
  ioc_types       = ["hash"]
  hash_types      = ["sha256"]
  adversary_types = ["C2C", "Malware", "Mining", "Spam", "Phishing", "Anonymizer"]
  days            = 3
}

# From companies.yml line 9.
company "globex_corporation_inc" {
  uuid         = "5e7a1b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
  defender_key = var.lumu_key_globex_corporation_inc
  name         = "Globex Corporation, Inc."
}

ioc_filter "globex_corporation_inc" {
  company         = company.globex_corporation_inc
  ioc_types       = ["hash"]
  hash_types      = ["sha1"]
  adversary_types = ["Malware", "Network Scan", "DGA"]
  days            = 30
}

# From companies.yml line 17.
company "company_c0ffee00" {
  uuid         = "c0ffee00-1234-4abc-9def-0123456789ab"
  defender_key = var.lumu_key_company_c0ffee00
}

ioc_filter "company_c0ffee00" {
  company         = company.company_c0ffee00
  ioc_types       = ["hash"]
  hash_types      = ["md5"]
  adversary_types = ["Malware"]
  days            = 1
}

ioc_filter "acme_md5_7d" {
  # companies.yml ioc_types: hash, ip, domain, url; a blocklist can only block hashes.
  company         = company.acme
  ioc_types       = ["hash"]
  hash_types      = ["md5"]
  adversary_types = ["C2C", "Malware", "Mining", "Spam", "Phishing", "Anonymizer"]
  days            = 7
}

kibana "prod" {
  url     = "https://prod.kb.example.com:9243"
  api_key = var.kibana_key_prod
}

kibana "prod_2" {
  url     = "https://prod.kb.example.com:9243"
  api_key = var.kibana_key_prod_2
}

kibana "kibana" {
  url     = "http://10.1.2.3:5601"
  api_key = var.kibana_key_kibana
}

# From integrations.yml line 2 (company acme).
blocklist "acme_prod" {
  kibana   = kibana.prod
  sources  = [ioc_filter.acme]
  policies = ["all"]
}

# From integrations.yml line 12 (company globex_corporation_inc).
blocklist "globex_corporation_inc" {
  kibana   = kibana.prod
  sources  = [ioc_filter.globex_corporation_inc]
  policies = ["all"]
}

# From integrations.yml line 18 (company acme).
blocklist "acme_prod_2" {
  kibana   = kibana.prod_2
  sources  = [ioc_filter.acme_md5_7d]
  policies = ["all"]
}

# From integrations.yml line 26 (company company_c0ffee00).
blocklist "company_c0ffee00" {
  kibana   = kibana.kibana
  sources  = [ioc_filter.company_c0ffee00]
  policies = ["all"]
}
