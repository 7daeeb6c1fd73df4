//go:build tools

// Package tools pins the Kubernetes control-plane binaries and etcd that the
// launchbay test harness runs. build-tools.sh builds every main package listed
// here in a single `go build` so they share compilation work.
package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
