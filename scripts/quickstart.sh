#!/usr/bin/env bash
# The README's first command: from a fresh clone on Debian (as root, or with a running
# Docker daemon), install, build, bring Docker up if needed, build the worker image and
# run the smoke scenario. Exits with `keelhaul run`'s code (0 = every check held).
set -euo pipefail
cd "$(dirname "$0")/.."

node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<5)) { console.error(`keelhaul needs Node.js >= 20.5, this is ${process.version}`); process.exit(1) }'
bash scripts/docker-up.sh
echo "quickstart: installing dependencies (npm ci, exactly package-lock.json)" >&2
npm ci --no-audit --no-fund --loglevel=error
echo "quickstart: building (tsc)" >&2
npm run --silent build
node dist/src/cli/main.js images build --quiet
node dist/src/cli/main.js run chaos/smoke.yaml
