# sandbox: the configuration `make demo` and the end-to-end tests run against
# lumuctl-sandbox. Every value that differs per sandbox run comes from a
# variable, set from the sandbox's JSON line as LUMUCTL_VAR_<name>.

variable "lumu_url" {
  type        = string
  description = "lumu_url from the sandbox"
}

variable "lumu_key" {
  type        = string
  sensitive   = true
  description = "lumu_key from the sandbox"
}

variable "company_uuid" {
  type        = string
  description = "company_uuid from the sandbox"
}

variable "kibana_url" {
  type        = string
  description = "kibana_url from the sandbox"
}

variable "kibana_key" {
  type        = string
  sensitive   = true
  description = "kibana_api_key from the sandbox"
}

settings {
  namespace = "demo"
}

company "acme" {
  uuid         = var.company_uuid
  defender_key = var.lumu_key
  api_url      = var.lumu_url
  name         = "ACME (sandbox)"
  # The sandbox does not rate-limit; real Lumu keys get 50 per minute and
  # about 10,000 a day (the defaults).
  requests_per_minute = 100000
  requests_per_day    = 10000000
}

# Malware and C2 hashes of open incidents seen in the last 30 days.
ioc_filter "malware" {
  company         = company.acme
  hash_types      = ["sha256", "md5"]
  adversary_types = ["C2C", "Malware", "Mining"]
  days            = 30
  statuses        = ["open"]
}

kibana "sandbox" {
  url     = var.kibana_url
  api_key = var.kibana_key
  # The sandbox answers on loopback at once; real Kibana keeps the 30s
  # default. After an interrupted apply, the next one waits this long before
  # it checks whether the writes left in flight landed.
  timeout = "5s"
}

blocklist "lumu" {
  kibana              = kibana.sandbox
  sources             = [ioc_filter.malware]
  os_types            = ["windows", "linux"]
  max_values_per_item = 100
}
