#!/usr/bin/env bash
# `make run-cluster` and the cluster tests put Debian's HAProxy in front of the Rasa
# replicas. Install it when it is missing (as scripts/ensure-chromium.sh does Chromium).
set -euo pipefail
if command -v haproxy >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "HAProxy is missing: run 'sudo apt-get install haproxy' and try again." >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
