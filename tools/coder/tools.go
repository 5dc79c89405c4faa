//go:build tools

// Package tools pins the Coder server build (see scripts/install-platform, which builds
// ./cmd/coder: the enterprise CLI, which may trust the local platform's license key).
package tools

import _ "github.com/coder/coder/v2/enterprise/cmd/coder"
