#!/usr/bin/env bash
# Installs what Dream needs on a fresh Debian machine: pnpm, the npm packages, and (with --test)
# the Debian packages the tests use as real peers and players. Safe to run again: it only installs
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_node_major=20
major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt "$need_node_major" ]; then
  echo "Dream needs Node.js >= $need_node_major (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

if ! command -v pnpm >/dev/null 2>&1; then
  echo "==> installing pnpm 10 (corepack is not used: it fails on some machines)"
  npm install -g pnpm@10 >/dev/null
fi

# --runtime: what Dream itself uses (scripts/debian-runtime.txt);
# --test: that plus the real peers and tools the tests use (scripts/debian-packages.txt).
lists=()
case "${1:-}" in
  --runtime) lists=(scripts/debian-runtime.txt) ;;
  --test) lists=(scripts/debian-runtime.txt scripts/debian-packages.txt) ;;
esac
missing=()
for list in "${lists[@]}"; do
  while read -r pkg; do
    case "$pkg" in ''|'#'*) continue ;; esac
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < "$list"
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Dream needs these Debian packages: ${missing[*]}" >&2
    echo "Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  echo "==> installing npm packages"
  pnpm install --frozen-lockfile
fi
