# Converted by "lumuctl convert" from companies.yml and integrations.yml.
# Keys are variables: set them in lumuctl.lumuvars (see lumuctl.lumuvars.example)
# or as LUMUCTL_VAR_<name> environment variables.

variable "lumu_key_acme" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key of company ACME (10228d9c-ff18-4251-ac19-514185e00f17)"
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
