#!/usr/bin/env bash
# Bring a Docker Engine up for keelhaul, or return at once when one already answers.
#
#   scripts/docker-up.sh [--fresh]
#
# - A daemon that answers `docker info` (DOCKER_HOST or the default socket) is used as is,
#   and nothing is recorded, so scripts/docker-down.sh will leave it alone.
# - Otherwise, on Debian as root: installs Debian's docker.io (+ busybox-static, iptables)
#   when dockerd is missing, starts dockerd in the background with its log, pidfile and
#   data-root under $KEELHAUL_DOCKERD_DIR, and waits for `docker info`.
# - --fresh wipes that data-root first, so a CI run never inherits containers, images or
#   volumes from an earlier one.
#
# Environment:
#   KEELHAUL_DOCKERD_DIR      where the daemon's files live (default /var/tmp/keelhaul-dockerd)
#   KEELHAUL_DOCKERD_TIMEOUT  seconds to wait for `docker info` (default 60)
#
# Exit codes: 0 a daemon answers; 1 it could not be brought up (the reason is printed,
# with the tail of the daemon's log when it was started here).
set -euo pipefail

DIR="${KEELHAUL_DOCKERD_DIR:-/var/tmp/keelhaul-dockerd}"
TIMEOUT="${KEELHAUL_DOCKERD_TIMEOUT:-60}"
FRESH=0
for arg in "$@"; do
  case "$arg" in
    --fresh) FRESH=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "docker-up: unknown argument '$arg' (expected --fresh or --help)" >&2; exit 1 ;;
  esac
done

say() { echo "docker-up: $*" >&2; }

# `docker info` can hang on a socket that accepts but does not answer (dockerd restoring
# containers, DOCKER-NOTES.md), so every probe carries its own timeout.
answers() { timeout 5 docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && answers; then
  say "a Docker daemon already answers ($(timeout 5 docker info --format 'Docker {{.ServerVersion}}, {{.Driver}}')); using it"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  say "no Docker daemon answers and this is not root, so none can be started here."
  say "Start one yourself (e.g. 'sudo systemctl start docker') or set DOCKER_HOST, then run this again."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "dockerd is not installed and apt-get is missing: install Docker Engine for this OS, then run this again."
    exit 1
  fi
  say "installing Debian's docker.io, busybox-static and iptables (about 10-30 s)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io busybox-static iptables >/dev/null
fi
if ! command -v docker >/dev/null 2>&1; then
  say "the docker CLI is missing after installing docker.io; install it (package docker.io or docker-ce-cli)."
  exit 1
fi

# A daemon we started earlier may still be alive but not answering yet (restoring). The
# pid must still be a dockerd: after a reboot or a killed session it may be anyone's.
is_dockerd() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && grep -q dockerd "/proc/$1/cmdline" 2>/dev/null; }
if is_dockerd "$(cat "$DIR/dockerd.pid" 2>/dev/null || true)"; then
  say "dockerd (pid $(cat "$DIR/dockerd.pid")) from an earlier start is alive; waiting for it"
else
  mkdir -p "$DIR"
  if [ "$FRESH" = 1 ] && [ -d "$DIR/data" ]; then
    say "wiping $DIR/data (--fresh)"
    # dockerd bind-mounts its data-root onto itself and leaves overlay mounts behind after
    # a crash; unmount them so rm does not walk into a live mount.
    { grep -o " $DIR/data[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    rm -rf "$DIR/data"
  fi
  mkdir -p "$DIR/data"
  : > "$DIR/dockerd.log"
  say "starting dockerd (data-root $DIR/data, log $DIR/dockerd.log)"
  # setsid: the daemon must not die with this shell or receive the caller's Ctrl-C.
  setsid dockerd \
    --data-root "$DIR/data" \
    --pidfile "$DIR/dockerd.pid" \
    >>"$DIR/dockerd.log" 2>&1 < /dev/null &
  echo $! > "$DIR/started-by-keelhaul"
fi

deadline=$(( $(date +%s) + TIMEOUT ))
until answers; do
  pid="$(cat "$DIR/started-by-keelhaul" 2>/dev/null || echo)"
  if [ -n "$pid" ] && ! is_dockerd "$pid"; then
    say "dockerd exited before answering; the end of its log ($DIR/dockerd.log):"
    tail -n 30 "$DIR/dockerd.log" >&2 || true
    rm -f "$DIR/started-by-keelhaul"
    exit 1
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "dockerd did not answer 'docker info' within ${TIMEOUT} s; the end of its log ($DIR/dockerd.log):"
    tail -n 30 "$DIR/dockerd.log" >&2 || true
    say "stop it with scripts/docker-down.sh, or raise KEELHAUL_DOCKERD_TIMEOUT."
    exit 1
  fi
  sleep 0.5
done
say "Docker $(timeout 5 docker info --format '{{.ServerVersion}} ({{.Driver}})') answers"
