#!/usr/bin/env bash
# Install Debian's chromium for the report.html test (test/integration/report-html.docker.test.ts),
# only when no Chromium is found. playwright-core drives it through `executablePath`; no
# browser is downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD).
#
#   scripts/install-chromium.sh
#
# Environment: KEELHAUL_CHROMIUM  the browser to use (default: chromium on PATH).
# Exit codes: 0 a Chromium is there; 1 it is missing and could not be installed.
set -euo pipefail
browser="${KEELHAUL_CHROMIUM:-chromium}"
if command -v "$browser" >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
  echo "install-chromium: $browser is missing and apt-get (as root) is not available: install Chromium, or point KEELHAUL_CHROMIUM at one." >&2
  exit 1
fi
echo "install-chromium: installing Debian's chromium (apt-get)" >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1
