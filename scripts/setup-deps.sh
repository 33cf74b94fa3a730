#!/usr/bin/env bash
# Installs what building and testing vecgo needs on Debian 12 (as root), only
# where missing: PostgreSQL 15 server and headers, the compiler, xsimd,
# GoogleTest, pgTAP and pg_prove, IPC::Run for TAP tests, node/npm for the
# GloVe sample data.
set -euo pipefail
pkgs=(build-essential postgresql-15 postgresql-server-dev-15 libpq-dev libxsimd-dev libgtest-dev
      postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl libipc-run-perl ca-certificates)
# node/npm may come from elsewhere than Debian's packages; install them only when absent.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || true
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package creates a default cluster; it is not used here.
export PATH="$(pg_config --bindir):$PATH"
