#!/usr/bin/env bash
# The first of the README's two commands: installs everything and runs Dream's main job on the
# embedded defaults, in a private sandbox under .quickstart/ (nothing touches your real config,
# and nothing joins the public DHT).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-tools.sh --runtime
echo "==> building"
pnpm -s build
exec node scripts/quickstart.mjs "$@"
