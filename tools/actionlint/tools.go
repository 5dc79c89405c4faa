//go:build tools

// Package tools pins actionlint (github.com/rhysd/actionlint), the GitHub Actions workflow linter
// scripts/test runs, so its go.sum is committed and the build verifies every module checksum.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
