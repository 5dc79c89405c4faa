//go:build tools

// Package tools pins github.com/cloudnative-pg/plugin-barman-cloud (see scripts/install-node).
package tools

import (
	_ "github.com/cloudnative-pg/plugin-barman-cloud/cmd/manager"
)
