//go:build tools

// Package tools pins the Coder server build (see scripts/install-platform).
package tools

import _ "github.com/coder/coder/v2/enterprise/cmd/coder"
