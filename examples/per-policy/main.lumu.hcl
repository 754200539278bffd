# per-policy: a blocklist scoped to two Fleet Elastic Defend package policies
# (not global), on several operating systems, with tighter safety guards.
#
# Find the policy ids in Kibana under Fleet > Agent policies > (policy) >
# Elastic Defend integration, or with GET /api/fleet/package_policies.

variable "lumu_key" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key"
}

variable "kibana_key" {
  type        = string
  sensitive   = true
  description = "Kibana API key"
}

variable "policy_ids" {
  type        = list(string)
  description = "Elastic Defend package-policy ids of the servers"
  default     = ["policy:8b6e4c52-1f0a-4f3e-9d2b-7a1c5e3f9d10", "2f1d9c7e-6b5a-4c3d-8e7f-1a2b3c4d5e6f"]
}

company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key
  name         = "ACME Corp"
  contact_name = "SOC on call"
}

ioc_filter "server_malware" {
  company         = company.acme
  hash_types      = ["sha256", "sha1", "md5"]
  adversary_types = ["Malware", "C2C", "Mining"]
  days            = 7
  statuses        = ["open"]
  labels          = [1021, 1187]
}

kibana "prod" {
  url           = "https://kibana.example.com:9243"
  api_key       = var.kibana_key
  ca_file       = "certs/corporate-ca.pem"
  retry_timeout = "3m"
}

blocklist "servers" {
  kibana              = kibana.prod
  sources             = [ioc_filter.server_malware]
  policies            = var.policy_ids
  os_types            = ["windows", "linux"]
  max_values_per_item = 2000
  # Refuse any plan that would delete an item of this blocklist.
  prevent_destroy = true

  guard {
    # Refuse plans that unblock more than 10% of the hashes, or more than
    # 500 at once; pass --allow-mass-delete after reviewing such a plan.
    max_delete_fraction = 0.1
    max_deletes         = 500
    # A filter that suddenly yields nothing is an error, never "unblock all".
    allow_empty_sources = false
  }
}
