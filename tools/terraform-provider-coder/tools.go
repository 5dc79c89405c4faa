//go:build tools

// Package tools pins the terraform-provider-coder build (see scripts/install-platform).
package tools

import _ "github.com/coder/terraform-provider-coder/v2"
