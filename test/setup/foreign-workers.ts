/**
 * Two workers that are not keelhaul's, for tests that hold keelhaul to docs/worker-contract.md
 * ("any image that follows this page can be harnessed"): neither in TypeScript, neither with
 * anything of keelhaul's inside, both `FROM scratch`, both `USER 1000:1000`, neither with a
 * `/workspace` directory (so the workspace's ownership is keelhaul's doing, issue 16 item 1).
 *
 * - **distroless**: a C program compiled here with `gcc -static`, the only file of its image:
 *   no shell, no libc on disk, nothing to exec into.
 * - **shell**: a POSIX `sh` script run by Debian's static busybox, the image's only binary.
 *
 * What each does with the task in `KEELHAUL_TASK` (contract: env, stdout JSON lines, exit codes):
 * emits `task.started` (with its `uid`), writes `<workspace>/<kind>-<task id>.txt` (one line:
 * the worker kind, the attempt, and the task's own `note` field when it has one — a task
 * field of the user's, ignored when absent), then works for the first `"sleep":N` ms the task
 * JSON holds (so a scenario's `steps: [{ sleep: … }]` sets it, 0 when none), emitting a
 * `heartbeat` every `heartbeatMs`, and ends with `task.completed` naming the file in a field of
 * its own, `wrote` (exit 0). SIGTERM ends it
 * with `task.failed` `terminated` (exit 143). A failed write ends it with `task.failed`
 * (`disk_full` for ENOSPC, `step_failed` otherwise, with the errno `code`), exit 1.
 *
 * Images are tagged `keelhaul-test/<kind>-worker:<hash of the sources>`. They are not run
 * resources (no run label): the caller removes them with `remove()` in its `afterAll`, which
 * removes only an image this helper built (an image already present is left alone).
 *
 * Prerequisites (installed by scripts/test-prerequisites.sh, which `npm test` runs first): gcc
 * with a static libc (`libc6-dev`) and a static `/bin/busybox` (`busybox-static`). Missing,
 * the build throws {@link MissingToolError} with the install command: the test fails, never skips.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DockerClient } from '../../src/docker/index.js';
import { MissingToolError, requireTool } from './require-tool.js';

const run = promisify(execFile);

/** Which foreign worker. */
export type ForeignWorkerKind = 'distroless' | 'shell';

/** A built foreign worker image. */
export interface ForeignWorker {
  readonly kind: ForeignWorkerKind;
  /** `keelhaul-test/<kind>-worker:<hash>`. */
  readonly image: string;
  /** The file each attempt writes, relative to the workspace: `<kind>-<taskId>.txt`. */
  fileFor(taskId: string): string;
  /** Removes the image if this helper built it (not when it was already there). Never throws. */
  remove(): Promise<void>;
}

/** The distroless worker's source: C99 and POSIX, linked statically. */
export const DISTROLESS_WORKER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *run_id, *task_id, *attempt;
static int seq = 0;
static volatile sig_atomic_t terminated = 0;

static void on_term(int sig) { (void)sig; terminated = 1; }

/* One event line, written whole with write(2): nothing buffered is lost at exit. */
static void emit(const char *type, const char *extra) {
  char ts[40], line[4096];
  struct timespec now;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  strftime(ts, 24, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(ts + 19, sizeof ts - 19, ".%03ldZ", now.tv_nsec / 1000000L);
  int n = snprintf(line, sizeof line, "{\"ts\":\"%s\",\"type\":\"%s\",\"run\":\"%s\",\"task\":\"%s\",\"attempt\":%s,\"seq\":%d%s%s}\n",
                   ts, type, run_id, task_id, attempt, ++seq, extra[0] ? "," : "", extra);
  if (n > 0) write(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* The integer after the first "key": in json, or fallback. */
static long int_field(const char *json, const char *key, long fallback) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *p = strstr(json, pattern);
  return p ? strtol(p + strlen(pattern), NULL, 10) : fallback;
}

/* The string after the first "key":" in json (no escapes), into out; empty when absent. */
static void string_field(const char *json, const char *key, char *out, size_t size) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
  const char *p = strstr(json, pattern);
  out[0] = 0;
  if (!p) return;
  p += strlen(pattern);
  size_t i = 0;
  while (p[i] && p[i] != '"' && p[i] != '\\' && i + 1 < size) { out[i] = p[i]; i++; }
  out[i] = 0;
}

/* "interfaces":[{"name":"lo","addresses":["127.0.0.1","::1"]},…] from getifaddrs (netlink, no NSS). */
static void interfaces_field(char *out, size_t size) {
  struct ifaddrs *all = NULL, *a, *b;
  size_t used = (size_t)snprintf(out, size, "\"interfaces\":[");
  if (getifaddrs(&all) == 0) {
    int first = 1;
    for (a = all; a; a = a->ifa_next) {
      for (b = all; b != a && strcmp(b->ifa_name, a->ifa_name) != 0; b = b->ifa_next) {}
      if (b != a) continue; /* named before */
      used += (size_t)snprintf(out + used, size - used, "%s{\"name\":\"%s\",\"addresses\":[", first ? "" : ",", a->ifa_name);
      first = 0;
      int firstAddr = 1;
      for (b = a; b; b = b->ifa_next) {
        if (strcmp(b->ifa_name, a->ifa_name) != 0 || !b->ifa_addr) continue;
        char text[INET6_ADDRSTRLEN] = "";
        if (b->ifa_addr->sa_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)b->ifa_addr)->sin_addr, text, sizeof text);
        else if (b->ifa_addr->sa_family == AF_INET6) inet_ntop(AF_INET6, &((struct sockaddr_in6 *)b->ifa_addr)->sin6_addr, text, sizeof text);
        else continue;
        used += (size_t)snprintf(out + used, size - used, "%s\"%s\"", firstAddr ? "" : ",", text);
        firstAddr = 0;
      }
      used += (size_t)snprintf(out + used, size - used, "]}");
      if (used >= size - 64) break;
    }
    freeifaddrs(all);
  }
  snprintf(out + used, size - used, "]");
}

static void fail_write(const char *path, int err) {
  char extra[512];
  snprintf(extra, sizeof extra, "\"reason\":\"%s\",\"message\":\"writing %s: %s\",\"code\":\"%s\"",
           err == ENOSPC ? "disk_full" : "step_failed", path, strerror(err), err == ENOSPC ? "ENOSPC" : err == EACCES ? "EACCES" : "EIO");
  emit("task.failed", extra);
  exit(1);
}

int main(void) {
  run_id = getenv("KEELHAUL_RUN_ID");
  task_id = getenv("KEELHAUL_TASK_ID");
  attempt = getenv("KEELHAUL_ATTEMPT");
  const char *task = getenv("KEELHAUL_TASK");
  const char *ws = getenv("KEELHAUL_WORKSPACE");
  if (!run_id || !task_id || !attempt || !task) {
    fprintf(stderr, "distroless worker: KEELHAUL_RUN_ID, KEELHAUL_TASK_ID, KEELHAUL_ATTEMPT and KEELHAUL_TASK are required\n");
    return 2;
  }
  if (!ws || !ws[0]) ws = "/workspace";
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);

  char extra[2048], ifs[1536];
  interfaces_field(ifs, sizeof ifs);
  snprintf(extra, sizeof extra, "\"uid\":%d,\"pid\":%d,\"workspace\":\"%s\",%s", (int)getuid(), (int)getpid(), ws, ifs);
  emit("task.started", extra);

  char note[200], path[512], content[512];
  string_field(task, "note", note, sizeof note);
  snprintf(path, sizeof path, "%s/distroless-%s.txt", ws, task_id);
  int len = snprintf(content, sizeof content, "distroless attempt %s note=%s\n", attempt, note);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail_write(path, errno);
  if (write(fd, content, (size_t)len) != len) fail_write(path, errno);
  if (close(fd) != 0) fail_write(path, errno);

  long work = int_field(task, "sleep", 0), beat = int_field(task, "heartbeatMs", 1000);
  if (beat < 10) beat = 10;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (terminated) {
      emit("task.failed", "\"reason\":\"terminated\",\"message\":\"SIGTERM received\"");
      return 143;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
    if (elapsed >= work) break;
    long slice = work - elapsed < beat ? work - elapsed : beat;
    struct timespec d = { slice / 1000, (slice % 1000) * 1000000L };
    nanosleep(&d, NULL); /* EINTR on SIGTERM: the loop looks at the flag */
    if (!terminated) emit("heartbeat", "");
  }
  char done[700];
  /* Not the contract's "files" (which needs every file's sha256): a field of its own, kept as is. */
  snprintf(done, sizeof done, "\"wrote\":\"distroless-%s.txt\",\"wroteBytes\":%d", task_id, len);
  emit("task.completed", done);
  return 0;
}
`;

/** The shell worker's script, run by busybox `sh` (docs/worker-contract.md's POSIX example, grown). */
export const SHELL_WORKER_SH = String.raw`#!/bin/sh
ws=$KEELHAUL_WORKSPACE
[ -n "$ws" ] || ws=/workspace
seq=0
emit() { # emit TYPE [EXTRA-JSON-FIELDS]
  seq=$((seq + 1))
  extra=""
  [ -n "$2" ] && extra=",$2"
  printf '{"ts":"%s","type":"%s","run":"%s","task":"%s","attempt":%s,"seq":%s%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$KEELHAUL_RUN_ID" "$KEELHAUL_TASK_ID" "$KEELHAUL_ATTEMPT" "$seq" "$extra"
}
trap 'emit task.failed "\"reason\":\"terminated\",\"message\":\"SIGTERM received\""; exit 143' TERM
# The interfaces the worker sees, by name (docs/worker-contract.md, task.started).
ifs=""
for i in $(ls /sys/class/net); do
  [ -n "$ifs" ] && ifs="$ifs,"
  ifs="$ifs{\"name\":\"$i\",\"addresses\":[]}"
done
emit task.started "\"uid\":$(id -u),\"workspace\":\"$ws\",\"interfaces\":[$ifs]"
field() { printf '%s' "$KEELHAUL_TASK" | sed -n "s/.*\"$1\":\\([0-9][0-9]*\\).*/\\1/p" | head -n 1; }
note=$(printf '%s' "$KEELHAUL_TASK" | sed -n 's/.*"note":"\([^"\\]*\)".*/\1/p' | head -n 1)
file="shell-$KEELHAUL_TASK_ID.txt"
if ! printf 'shell attempt %s note=%s\n' "$KEELHAUL_ATTEMPT" "$note" 2>/tmp/write.err > "$ws/$file"; then
  code=EIO
  grep -q 'No space' /tmp/write.err && code=ENOSPC
  grep -q 'Permission denied' /tmp/write.err && code=EACCES
  reason=step_failed
  [ "$code" = ENOSPC ] && reason=disk_full
  emit task.failed "\"reason\":\"$reason\",\"message\":\"cannot write $file\",\"code\":\"$code\""
  exit 1
fi
work=$(field sleep)
[ -n "$work" ] || work=0
beat=$(field heartbeatMs)
[ -n "$beat" ] || beat=1000
elapsed=0
while [ "$elapsed" -lt "$work" ]; do
  # In the background and waited for, so that SIGTERM's trap runs at once (a shell runs a
  # trap only after the foreground command ends).
  sleep "$((beat / 1000)).$(printf '%03d' $((beat % 1000)))" &
  wait $!
  elapsed=$((elapsed + beat))
  emit heartbeat
done
# Not the contract's "files" (which needs every file's sha256): a field of its own, kept as is.
emit task.completed "\"wrote\":\"$file\""
exit 0
`;

/**
 * Whether an ELF file is statically linked: no `PT_INTERP` program header (64-bit
 * little-endian ELF, as Debian amd64 and arm64 have), read without `file` or `ldd`.
 */
async function isStaticElf(path: string): Promise<boolean> {
  const elf = await readFile(path);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false;
  return true;
}

/** A static busybox, or {@link MissingToolError} naming Debian's busybox-static. */
async function requireStaticBusybox(): Promise<string> {
  const path = '/bin/busybox';
  const install = 'apt-get install -y busybox-static';
  const ok = await isStaticElf(path).catch(() => false);
  if (!ok) throw new MissingToolError('busybox (static, /bin/busybox)', install);
  return path;
}

const built = new Map<string, Promise<ForeignWorker>>();

/**
 * Builds (once per process) the foreign worker `kind` on `docker`, through keelhaul's own
 * image build from a directory (`DockerClient.buildImage`: tar-fs context, legacy builder).
 * @throws {MissingToolError} when gcc / a static busybox is missing
 * @throws {ImageBuildError} when the daemon's build fails
 */
export function buildForeignWorker(docker: DockerClient, kind: ForeignWorkerKind): Promise<ForeignWorker> {
  let worker = built.get(kind);
  if (!worker) {
    worker = build(docker, kind);
    worker.catch(() => built.delete(kind));
    built.set(kind, worker);
  }
  return worker;
}

async function build(docker: DockerClient, kind: ForeignWorkerKind): Promise<ForeignWorker> {
  const dir = await mkdtemp(join(tmpdir(), `keelhaul-${kind}-worker-`));
  try {
    let dockerfile: string;
    const hash = createHash('sha256').update(kind);
    if (kind === 'distroless') {
      const gcc = requireTool('gcc', 'apt-get install -y gcc libc6-dev');
      await writeFile(join(dir, 'worker.c'), DISTROLESS_WORKER_C);
      await run(gcc, ['-static', '-O2', '-Wall', '-o', join(dir, 'worker'), join(dir, 'worker.c')]).catch((error: unknown) => {
        throw new MissingToolError('gcc -static (a static libc)', 'apt-get install -y gcc libc6-dev', { cause: error });
      });
      hash.update(DISTROLESS_WORKER_C);
      dockerfile = ['FROM scratch', 'COPY worker /worker', 'USER 1000:1000', 'ENTRYPOINT ["/worker"]', ''].join('\n');
    } else {
      const busybox = await requireStaticBusybox();
      await copyFile(busybox, join(dir, 'busybox'));
      await writeFile(join(dir, 'worker.sh'), SHELL_WORKER_SH);
      hash.update(SHELL_WORKER_SH).update(await readFile(busybox));
      dockerfile = [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'COPY worker.sh /worker.sh',
        'ENV PATH=/bin',
        'USER 1000:1000',
        'ENTRYPOINT ["/bin/sh", "/worker.sh"]',
        '',
      ].join('\n');
    }
    hash.update(dockerfile);
    await writeFile(join(dir, 'Dockerfile'), dockerfile);
    const image = `keelhaul-test/${kind}-worker:${hash.digest('hex').slice(0, 12)}`;
    const existed = (await docker.inspectImage(image)) !== undefined;
    if (!existed) await docker.buildImage({ contextDir: dir, dockerfile: 'Dockerfile', tag: image, labels: { 'dev.keelhaul.test': 'foreign-worker' } });
    return {
      kind,
      image,
      fileFor: (taskId) => `${kind}-${taskId}.txt`,
      remove: async () => {
        built.delete(kind);
        if (!existed) await docker.removeImage(image, { force: true }).catch(() => undefined);
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
