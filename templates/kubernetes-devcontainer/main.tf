# kubernetes-devcontainer: one Coder workspace = one Deployment (started/stopped by Coder) plus
# one per-workspace PVC at /workspaces that outlives stop/start (repo, caches, build output).
# No secret lives in this file or its parameters (contract C5): the agent token is minted by
# Coder per workspace and reaches the pod only through a Kubernetes Secret.

terraform {
  required_version = ">= 1.9"
  required_providers {
    coder = {
      source  = "coder/coder"
      version = "2.13.1"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "2.38.0"
    }
  }
}

provider "coder" {}

# In-cluster configuration: Coder's provisioner runs in the cluster under the chart's service
# account (coder.serviceAccount.workspacePerms grants pods, PVCs, secrets and deployments).
provider "kubernetes" {}

variable "namespace" {
  type        = string
  description = "Namespace the workspaces run in; the Coder service account must manage it."
  default     = "coder-workspaces"
}

variable "image" {
  type        = string
  description = "Workspace image: needs curl or wget for the agent and a user with uid 1000."
  default     = "codercom/enterprise-base:ubuntu"
}

data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}

data "coder_parameter" "cpu" {
  name         = "cpu"
  display_name = "CPU"
  description  = "CPU cores (limit); the request is a quarter of it."
  type         = "number"
  default      = "2"
  mutable      = true
  icon         = "/icon/memory.svg"
  order        = 1
  option {
    name  = "2 cores"
    value = "2"
  }
  option {
    name  = "4 cores"
    value = "4"
  }
  option {
    name  = "8 cores"
    value = "8"
  }
}

data "coder_parameter" "memory" {
  name         = "memory"
  display_name = "Memory"
  description  = "Memory in GiB (limit and request)."
  type         = "number"
  default      = "8"
  mutable      = true
  icon         = "/icon/memory.svg"
  order        = 2
  option {
    name  = "4 GiB"
    value = "4"
  }
  option {
    name  = "8 GiB"
    value = "8"
  }
  option {
    name  = "16 GiB"
    value = "16"
  }
}

data "coder_parameter" "repo_url" {
  name         = "repo_url"
  display_name = "Repository"
  description  = "Git URL cloned once into /workspaces (leave empty for none). No credentials here: use Coder external auth."
  type         = "string"
  default      = ""
  mutable      = true
  icon         = "/icon/git.svg"
  order        = 3
  validation {
    regex = "^(|https://[^\\s@]+|git@[^\\s]+)$"
    error = "Use an https:// URL without credentials, or a git@ SSH URL."
  }
}

locals {
  name      = "coder-${data.coder_workspace.me.id}"
  repo_url  = data.coder_parameter.repo_url.value
  repo_dir  = local.repo_url == "" ? "/workspaces" : "/workspaces/${trimsuffix(basename(local.repo_url), ".git")}"
  cpu       = tonumber(data.coder_parameter.cpu.value)
  memory_gi = tonumber(data.coder_parameter.memory.value)
  labels = {
    "app.kubernetes.io/name"       = "coder-workspace"
    "app.kubernetes.io/instance"   = local.name
    "app.kubernetes.io/part-of"    = "coder"
    "app.kubernetes.io/managed-by" = "coder"
    "com.coder.workspace.id"       = data.coder_workspace.me.id
    "com.coder.workspace.name"     = data.coder_workspace.me.name
    "com.coder.user.id"            = data.coder_workspace_owner.me.id
    "com.coder.user.username"      = data.coder_workspace_owner.me.name
  }
}

resource "coder_agent" "main" {
  os   = "linux"
  arch = "amd64"
  dir  = "/workspaces"

  # Minimal and non-fatal: the workspace is usable even if it fails. Setup is coder_script.setup.
  startup_script_behavior = "non-blocking"
  startup_script          = <<-EOT
    #!/bin/sh
    mkdir -p /workspaces/.cache || echo "warning: /workspaces is not writable" >&2
    exit 0
  EOT

  env = {
    GIT_AUTHOR_NAME     = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    GIT_AUTHOR_EMAIL    = data.coder_workspace_owner.me.email
    GIT_COMMITTER_NAME  = coalesce(data.coder_workspace_owner.me.full_name, data.coder_workspace_owner.me.name)
    GIT_COMMITTER_EMAIL = data.coder_workspace_owner.me.email
    # Caches live on the PVC so a stop/start keeps them.
    XDG_CACHE_HOME     = "/workspaces/.cache"
    PIP_CACHE_DIR      = "/workspaces/.cache/pip"
    npm_config_cache   = "/workspaces/.cache/npm"
    GOMODCACHE         = "/workspaces/.cache/go-mod"
    WORKSPACE_REPO_URL = local.repo_url
    WORKSPACE_REPO_DIR = local.repo_dir
  }

  display_apps {
    vscode                 = true
    vscode_insiders        = false
    web_terminal           = true
    ssh_helper             = true
    port_forwarding_helper = true
  }

  metadata {
    display_name = "CPU Usage"
    key          = "cpu_usage"
    script       = "coder stat cpu"
    interval     = 10
    timeout      = 1
  }

  metadata {
    display_name = "Memory Usage"
    key          = "mem_usage"
    script       = "coder stat mem"
    interval     = 10
    timeout      = 1
  }

  metadata {
    display_name = "/workspaces"
    key          = "workspaces_disk"
    script       = "coder stat disk --path /workspaces"
    interval     = 60
    timeout      = 1
  }
}

# Setup moved out of the startup script: it runs in parallel, shows its own log in the dashboard,
# and a failure marks only this script, never the agent.
resource "coder_script" "setup" {
  agent_id           = coder_agent.main.id
  display_name       = "Workspace setup"
  icon               = "/icon/git.svg"
  run_on_start       = true
  start_blocks_login = false
  timeout            = 900
  script             = file("${path.module}/scripts/setup.sh")
}

module "code-server" {
  count    = data.coder_workspace.me.start_count
  source   = "registry.coder.com/modules/code-server/coder"
  version  = "1.4.0"
  agent_id = coder_agent.main.id
  folder   = local.repo_dir
  order    = 1
}

# Persistent: no count, so it survives stop (start_count = 0) and goes with the workspace.
resource "kubernetes_persistent_volume_claim_v1" "workspaces" {
  metadata {
    name      = "${local.name}-workspaces"
    namespace = var.namespace
    labels    = local.labels
  }
  # managed-csi-premium binds on first consumer, i.e. when the first pod starts.
  wait_until_bound = false
  spec {
    access_modes       = ["ReadWriteOnce"]
    storage_class_name = "managed-csi-premium"
    resources {
      requests = {
        storage = "16Gi"
      }
    }
  }
}

resource "kubernetes_secret_v1" "agent_token" {
  count = data.coder_workspace.me.start_count
  metadata {
    name      = "${local.name}-agent"
    namespace = var.namespace
    labels    = local.labels
  }
  type = "Opaque"
  data = {
    token = coder_agent.main.token
  }
}

resource "kubernetes_deployment_v1" "workspace" {
  count            = data.coder_workspace.me.start_count
  wait_for_rollout = false
  depends_on       = [kubernetes_persistent_volume_claim_v1.workspaces]

  metadata {
    name      = local.name
    namespace = var.namespace
    labels    = local.labels
  }

  spec {
    replicas = 1
    # The disk is ReadWriteOnce: the old pod must let go before the new one mounts it.
    strategy {
      type = "Recreate"
    }
    selector {
      match_labels = {
        "app.kubernetes.io/name"     = "coder-workspace"
        "app.kubernetes.io/instance" = local.name
      }
    }

    template {
      metadata {
        labels = local.labels
      }

      spec {
        automount_service_account_token  = false
        termination_grace_period_seconds = 30

        security_context {
          run_as_non_root        = true
          run_as_user            = 1000
          run_as_group           = 1000
          fs_group               = 1000
          fs_group_change_policy = "OnRootMismatch"
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "dev"
          image             = var.image
          image_pull_policy = "IfNotPresent"
          command           = ["sh", "-c", coder_agent.main.init_script]

          env {
            name = "CODER_AGENT_TOKEN"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.agent_token[0].metadata[0].name
                key  = "token"
              }
            }
          }

          security_context {
            allow_privilege_escalation = false
            capabilities {
              drop = ["ALL"]
            }
          }

          resources {
            requests = {
              cpu    = "${local.cpu * 250}m"
              memory = "${local.memory_gi}Gi"
            }
            limits = {
              cpu    = tostring(local.cpu)
              memory = "${local.memory_gi}Gi"
            }
          }

          volume_mount {
            name       = "workspaces"
            mount_path = "/workspaces"
          }
        }

        volume {
          name = "workspaces"
          persistent_volume_claim {
            claim_name = kubernetes_persistent_volume_claim_v1.workspaces.metadata[0].name
          }
        }
      }
    }
  }
}
