//go:build tools

// Package tools pins the promtool build (see scripts/install-promtool).
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
