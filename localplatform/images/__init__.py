"""Container images without a registry: a rootfs as one layer, a docker-archive tar, ``ctr import``.

No registry is reachable here, so every image the node runs is made from what the project's
scripts already build or install (Go binaries, Debian packages, wheels) and imported straight
into containerd's ``k8s.io`` namespace, where the kubelet's CRI finds it by name.
"""
