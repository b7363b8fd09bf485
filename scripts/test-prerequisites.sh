#!/usr/bin/env bash
# What `npm test` needs besides a Docker daemon (scripts/docker-up.sh brings that up), run
# by npm as the `pretest` script so that the README's second command works on a fresh
# machine on its own:
#
#   docker-compose   test/integration/compose.docker.test.ts checks `keelhaul repro --export
#                    compose` and compose/agents.yml against Debian's real docker-compose CLI
#   chromium         test/integration/report-html.docker.test.ts renders report.html in it
#                    (playwright-core drives Debian's chromium; no browser is downloaded)
#   gcc, libc6-dev   test/setup/foreign-workers.ts compiles a distroless worker with gcc -static
#   busybox-static   test/setup/foreign-workers.ts's shell worker: a static /bin/busybox alone
#                    in a FROM scratch image
#   openssl, sshd    test/integration/tls-endpoint.docker.test.ts makes a CA and certificates
#                    for a TLS dockerd, and reaches a daemon over ssh:// through its own sshd
#                    (Debian packages openssl and openssh-server)
#   docker-registry  test/integration/image-pull.docker.test.ts serves the registry API on a
#                    free localhost port (its own config and storage; not the systemd service)
#
# On Debian as root each missing one is installed with apt-get (about a minute for
# chromium, once). Elsewhere nothing is installed: the missing tools are named with the
# command that installs them, and the tests that need them fail saying the same (they
# never skip). Exit code: always 0 — the tests themselves are the judges.
#
# Environment: KEELHAUL_CHROMIUM  a Chromium to use instead of `chromium` on PATH.
set -uo pipefail
cd "$(dirname "$0")/.."

say() { echo "test-prerequisites: $*" >&2; }
missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v "${KEELHAUL_CHROMIUM:-chromium}" >/dev/null 2>&1 || missing+=(chromium)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
# libc.a: what gcc -static links against.
[ -e "$(gcc -print-file-name=libc.a 2>/dev/null)" ] && [ "$(gcc -print-file-name=libc.a 2>/dev/null)" != libc.a ] || missing+=(libc6-dev)
# Debian's busybox-static: /bin/busybox without an ELF interpreter (ldd fails on a static binary).
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || missing+=(busybox-static)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# sshd lives in /usr/sbin, which a non-root PATH may lack.
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
[ ${#missing[@]} = 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "missing: ${missing[*]}; the tests that need them will fail. Install them with:"
  say "  sudo apt-get install -y --no-install-recommends ${missing[*]}   (Debian/Ubuntu package names)"
  exit 0
fi

say "installing Debian's ${missing[*]} for the integration tests (once; about a minute)"
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be empty or stale: update only when the first try fails.
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    say "apt-get install ${missing[*]} failed; the tests that need them will fail"
  fi
fi
exit 0
