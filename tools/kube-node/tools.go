//go:build tools

// Package tools pins the node's Kubernetes binaries (kubelet, kube-scheduler, kube-proxy), built from
// k8s.io/kubernetes at the same release as tools/kube-apiserver (see scripts/install-node).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
