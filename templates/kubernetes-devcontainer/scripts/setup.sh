#!/usr/bin/env bash
# Workspace setup (coder_script "setup"): clone the repository once onto the persistent
# /workspaces volume. Idempotent: a stop/start finds the clone and leaves it alone.
# Reads WORKSPACE_REPO_URL and WORKSPACE_REPO_DIR from the agent's environment.
set -euo pipefail

mkdir -p /workspaces/.cache

if [ -z "${WORKSPACE_REPO_URL:-}" ]; then
  echo "no repository selected; nothing to clone"
  exit 0
fi

if [ -d "${WORKSPACE_REPO_DIR}/.git" ]; then
  echo "repository already present in ${WORKSPACE_REPO_DIR}; leaving it as is"
  exit 0
fi

echo "cloning into ${WORKSPACE_REPO_DIR}"
git clone -- "${WORKSPACE_REPO_URL}" "${WORKSPACE_REPO_DIR}"
