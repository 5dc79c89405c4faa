//go:build tools

// Package tools pins the etcd server build (see scripts/install-toolchain).
package tools

import _ "go.etcd.io/etcd/server/v3"
