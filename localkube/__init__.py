"""A Kubernetes API server on loopback, from the project's own toolchain (etcd, kube-apiserver,
and kube-controller-manager's garbage collector and namespace controller, so deletes finish).

The embedded default stack deploys here (``localplatform`` runs it as its ``kube`` part, next to
PostgreSQL, OpenBao and Coder), so a newcomer sees ``reconcile`` deploy and heal the Kubernetes
parts without Azure; the integration tier uses the same cluster code.
"""
