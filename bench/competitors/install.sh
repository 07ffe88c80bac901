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
# - uint8-util forced to 2.2.6: webtorrent 2.8.5 calls arr2hex() on a hex string, which 2.2.x
#   tolerates and 2.3.x (pulled in by newer parse-torrent/create-torrent) throws on, so every
#   .torrent file crashed webtorrent-cli at load. No dependent uses what 2.3 added (and/or/xor/compare).
# - --ignore-scripts: ip-set 3.0.0 (via webtorrent > load-ip-set) has a preinstall `npx only-allow
#   pnpm` that refuses npm. The only other install scripts are node-gyp-build for bufferutil,
#   utf-8-validate and utp-native (they ship prebuilt binaries, loaded at run time, and the first two
#   have JavaScript fallbacks) and protobufjs's postinstall (a version-scheme warning): skipping them
#   is harmless, which the check at the end confirms.
set -eu
cd "$(dirname "$0")"
# Reinstall when package.json or the lock changed since the last install (a stamp in node_modules).
stamp=$(cat package.json package-lock.json 2>/dev/null | cksum)
if [ ! -d node_modules/webtorrent-cli ] || [ ! -d node_modules/peerflix ] ||
  [ "$(cat node_modules/.dream-install-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "bench/competitors: installing webtorrent-cli and peerflix (npm, about 30 s)" >&2
  npm install --no-audit --no-fund --ignore-scripts --loglevel=error
  # npm may have rewritten the lock: stamp what is there now.
  cat package.json package-lock.json | cksum >node_modules/.dream-install-stamp
fi
node -e 'require("utp-native"); require("node-datachannel")' ||
  { echo "bench/competitors: native modules do not load; remove node_modules and retry" >&2; exit 1; }
