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

# variable "kibana_key_old" {
#   type        = string
#   sensitive   = true
#   description = "Kibana API key for https://old.kb.example.com"
# }

variable "kibana_key_new" {
  type        = string
  sensitive   = true
  description = "Kibana API key for https://new.kb.example.com"
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

# ioc_filter "globex_corporation_inc_sha1_14d" {
#   company         = company.globex_corporation_inc
#   ioc_types       = ["hash"]
#   hash_types      = ["sha1"]
#   adversary_types = ["Malware", "Network Scan", "DGA"]
#   days            = 14
# }

# kibana "old" {
#   url     = "https://old.kb.example.com"
#   api_key = var.kibana_key_old
# }

kibana "new" {
  url     = "https://new.kb.example.com"
  api_key = var.kibana_key_new
}

# From integrations.yml line 1 (company acme).
# Commented out: clean: true.
# blocklist "acme" {
#   kibana   = kibana.old
#   sources  = [ioc_filter.acme]
#   policies = ["all"]
# }

# From integrations.yml line 9 (company globex_corporation_inc).
# Commented out: clean: true.
# blocklist "globex_corporation_inc_new" {
#   kibana   = kibana.new
#   sources  = [ioc_filter.globex_corporation_inc_sha1_14d]
#   policies = ["all"]
# }

# From integrations.yml line 17 (company globex_corporation_inc).
blocklist "globex_corporation_inc_new_2" {
  kibana   = kibana.new
  sources  = [ioc_filter.globex_corporation_inc]
  policies = ["all"]
}
