"""The whole mission on loopback: Kubernetes, PostgreSQL, OpenBao and a real Coder.

``python -m localplatform up`` starts every part on loopback from binaries the project builds or
installs itself (``scripts/install-toolchain``, ``scripts/install-platform``), so the embedded
``local`` stack seeds a real Coder and a newcomer can wipe its database and watch it heal.
"""
