//go:build tools

// Package tools pins the OpenTofu build (see scripts/install-platform).
package tools

import _ "github.com/opentofu/opentofu/cmd/tofu"
