//go:build tools

// The node agents of the real node (`npm run k8s:up -- --real-node`): built by
// build-node-tools.sh from this same module, so they match the control plane's
// Kubernetes version and reuse its compilation.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
