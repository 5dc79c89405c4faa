//go:build tools

// Package tools pins github.com/coredns/coredns (see scripts/install-node).
package tools

import (
	_ "github.com/coredns/coredns"
)
