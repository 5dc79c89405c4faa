//go:build tools

// Package tools pins the Pulumi CLI build (see scripts/install-toolchain).
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
