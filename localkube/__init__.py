"""A Kubernetes API server on loopback, from the project's own toolchain (etcd, kube-apiserver).

The embedded default stack deploys here, so a newcomer sees ``reconcile`` deploy and heal the
Kubernetes parts without Azure; the integration tier uses the same cluster code.
"""
