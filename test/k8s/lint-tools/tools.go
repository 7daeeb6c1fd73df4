//go:build tools

// Package tools pins chart-testing (ct) for test/k8s/build-lint-tools.sh. It is built from
// this module rather than with `go install <module>@<version>` because the Go module proxy
// answers 403 for chart-testing's version list, which `go install` reads for deprecations.
package tools

import _ "github.com/helm/chart-testing/v3/ct"
