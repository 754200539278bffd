# deploy: the configuration the deployments of this directory run (systemd,
# cron, Docker, and the Kubernetes ConfigMap, which holds this file as is).
# Edit the company, kibana and blocklist blocks, or replace this file by the
# output of "lumuctl convert". The keys come from LUMUCTL_VAR_lumu_key and
# LUMUCTL_VAR_kibana_key (or lumuctl.lumuvars, mode 0600).

settings {
  namespace = "prod"
  # /var/lib/lumuctl is the state directory of every deployment here (the
  # volume of the image, StateDirectory= of the service, the PVC in
  # Kubernetes, where the configuration itself is read-only).
  state_path = "/var/lib/lumuctl/state.db"
  cache_path = "/var/lib/lumuctl/cache.db"
}

variable "lumu_key" {
  type        = string
  sensitive   = true
  description = "Lumu Defender API key"
}

variable "kibana_key" {
  type        = string
  sensitive   = true
  description = "Kibana API key with the Blocklist All privilege"
}

company "acme" {
  uuid         = "10228d9c-ff18-4251-ac19-514185e00f17"
  defender_key = var.lumu_key
}

ioc_filter "malware" {
  company = company.acme
}

kibana "prod" {
  url     = "https://kibana.example.com:9243"
  api_key = var.kibana_key
}

blocklist "lumu" {
  kibana  = kibana.prod
  sources = [ioc_filter.malware]
}
