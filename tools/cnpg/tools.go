//go:build tools

// Package tools pins github.com/cloudnative-pg/cloudnative-pg (see scripts/install-node).
package tools

import (
	_ "github.com/cloudnative-pg/cloudnative-pg/cmd/manager"
)
