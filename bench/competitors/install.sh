#!/bin/sh
# Install the streaming clients Dream is benchmarked against (webtorrent-cli, peerflix) into
# bench/competitors/node_modules, once. They live outside the pnpm workspace on purpose: they must
# not slow down `pnpm install` or the tests, and only the benchmarks need them.
#
# Versions (package.json, pinned by package-lock.json) are the newest that run on Node 20:
# - webtorrent-cli 5.1.3: 6.x needs webtorrent 3, whose engines say node >= 22.
# - node-datachannel forced to 0.33.4 (npm "overrides"): older versions download their native
#   binary from GitHub at install time, which fails without Internet; 0.33.4 ships it as a registry
#   package (@node-datachannel/linux-x64-gnu).
# - --ignore-scripts: ip-set 3.0.0 (via webtorrent > load-ip-set) has a preinstall `npx only-allow
#   pnpm` that refuses npm. The only other install scripts are node-gyp-build for bufferutil,
#   utf-8-validate and utp-native (they ship prebuilt binaries, loaded at run time, and the first two
#   have JavaScript fallbacks) and protobufjs's postinstall (a version-scheme warning): skipping them
#   is harmless, which the check at the end confirms.
set -eu
cd "$(dirname "$0")"
if [ ! -d node_modules/webtorrent-cli ] || [ ! -d node_modules/peerflix ]; then
  echo "bench/competitors: installing webtorrent-cli and peerflix (npm, about 30 s)" >&2
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error
fi
node -e 'require("utp-native"); require("node-datachannel")' ||
  { echo "bench/competitors: native modules do not load; remove node_modules and retry" >&2; exit 1; }
