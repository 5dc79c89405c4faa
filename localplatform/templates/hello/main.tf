# hello: the local stack's template. It needs only the coder provider, which the local
# platform serves from its filesystem mirror (scripts/install-platform), so Coder on loopback
# imports it offline. Workspaces cannot start here: the slim Coder build ships no agent binaries.

terraform {
  required_providers {
    coder = {
      source  = "coder/coder"
      version = "2.20.0"
    }
  }
}

provider "coder" {}

data "coder_workspace" "me" {}
data "coder_workspace_owner" "me" {}

variable "greeting" {
  type        = string
  description = "What the workspace says when it starts."
  default     = "hello"
}

resource "coder_agent" "main" {
  count          = data.coder_workspace.me.start_count
  arch           = "amd64"
  os             = "linux"
  startup_script = "echo '${var.greeting}, ${data.coder_workspace_owner.me.name}'"
}
