#!/usr/bin/env bash
# Stop the Docker daemon that scripts/docker-up.sh started, and only that one.
#
#   scripts/docker-down.sh
#
# A daemon that was already running when docker-up.sh ran is never touched: only the pid
# recorded in $KEELHAUL_DOCKERD_DIR/started-by-keelhaul is signalled, and only while that
# pid is still a dockerd. SIGTERM first (dockerd stops its containers, about 10-15 s,
# DOCKER-NOTES.md), SIGKILL after KEELHAUL_DOCKERD_STOP_TIMEOUT seconds (default 30).
set -euo pipefail

DIR="${KEELHAUL_DOCKERD_DIR:-/var/tmp/keelhaul-dockerd}"
STOP_TIMEOUT="${KEELHAUL_DOCKERD_STOP_TIMEOUT:-30}"
say() { echo "docker-down: $*" >&2; }

marker="$DIR/started-by-keelhaul"
if [ ! -f "$marker" ]; then
  say "no daemon started by docker-up.sh is recorded in $DIR; nothing to stop"
  exit 0
fi
pid="$(cat "$marker")"
if ! kill -0 "$pid" 2>/dev/null || ! grep -q dockerd "/proc/$pid/cmdline" 2>/dev/null; then
  say "recorded dockerd (pid $pid) is no longer running"
  rm -f "$marker"
  exit 0
fi

say "stopping dockerd (pid $pid)"
kill -TERM "$pid"
deadline=$(( $(date +%s) + STOP_TIMEOUT ))
while kill -0 "$pid" 2>/dev/null; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "dockerd did not stop within ${STOP_TIMEOUT} s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.5
done
rm -f "$marker"
# dockerd leaves its data-root bind-mounted onto itself after it stops (DOCKER-NOTES.md).
{ grep -o " $DIR/data[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
say "stopped"
