//go:build tools

// Package tools pins github.com/rancher/local-path-provisioner (see scripts/install-node).
package tools

import (
	_ "github.com/rancher/local-path-provisioner"
)
