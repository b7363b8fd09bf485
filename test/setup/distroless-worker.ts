/**
 * A distroless worker for integration tests: one static C binary (`gcc -static`) in a
 * `FROM scratch` image — no shell, no busybox, no libc on disk, nothing of keelhaul's — that
 * follows docs/worker-contract.md: the task from `KEELHAUL_TASK`, JSON event lines on stdout
 * (`task.started`, `heartbeat` every `heartbeatMs`, `task.completed`; `task.failed` with
 * `terminated` and exit 143 on SIGTERM). Of the reference worker's step language it honours
 * `sleep` (summed) and `write` (each `path` gets `done\n`, parent directories made); other
 * keys are ignored. `task.started` carries `interfaces` (the names in `/sys/class/net`)
 * unless the env has `DISTROLESS_NO_INTERFACES=1`, so a test can make the isolation proof
 * rest on keelhaul's probe alone.
 *
 * A minimal builder of this branch; a shared `test/setup/foreign-workers.ts` is planned.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DockerClient } from '../../src/docker/index.js';
import { requireTool } from './require-tool.js';

const WORKER_C = String.raw`
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *run, *task, *attempt;
static int seq = 0;
static volatile sig_atomic_t terminated = 0;

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One event line: the common fields, then extra (a JSON fragment starting with a comma, or ""). */
static void emit(const char *type, const char *extra) {
  struct timespec t;
  struct tm tm;
  char ts[32];
  clock_gettime(CLOCK_REALTIME, &t);
  gmtime_r(&t.tv_sec, &tm);
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  printf("{\"ts\":\"%s.%03ldZ\",\"type\":\"%s\",\"run\":\"%s\",\"task\":\"%s\",\"attempt\":%s,\"seq\":%d%s}\n", ts, t.tv_nsec / 1000000, type, run, task,
         attempt, ++seq, extra);
  fflush(stdout);
}

static void on_term(int sig) { (void)sig; terminated = 1; }

/* The number after "key": in json, or def. */
static long number_of(const char *json, const char *key, long def) {
  const char *p = strstr(json, key);
  if (!p) return def;
  p = strchr(p + strlen(key), ':');
  return p ? strtol(p + 1, NULL, 10) : def;
}

static void mkdirs_for(char *path) {
  for (char *s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = 0;
    mkdir(path, 0755);
    *s = '/';
  }
}

int main(void) {
  run = getenv("KEELHAUL_RUN_ID");
  task = getenv("KEELHAUL_TASK_ID");
  attempt = getenv("KEELHAUL_ATTEMPT");
  const char *json = getenv("KEELHAUL_TASK");
  const char *ws = getenv("KEELHAUL_WORKSPACE");
  if (!run || !task || !attempt || !json) { fprintf(stderr, "KEELHAUL_* missing\n"); return 2; }
  if (!ws || !*ws) ws = "/workspace";
  signal(SIGTERM, on_term);

  char extra[4096] = "";
  const char *quiet = getenv("DISTROLESS_NO_INTERFACES");
  if (!quiet || strcmp(quiet, "1") != 0) {
    strcat(extra, ",\"interfaces\":[");
    DIR *d = opendir("/sys/class/net");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
      if (e->d_name[0] == '.' || strlen(extra) > 3900) continue;
      strcat(extra, n++ ? ",{\"name\":\"" : "{\"name\":\"");
      strcat(extra, e->d_name);
      strcat(extra, "\",\"addresses\":[]}");
    }
    if (d) closedir(d);
    strcat(extra, "]");
  }
  snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ",\"pid\":%d,\"uid\":%d,\"workspace\":\"%s\"", (int)getpid(), (int)getuid(), ws);
  emit("task.started", extra);

  long heartbeat = number_of(json, "\"heartbeatMs\"", 1000);
  long work = 0;
  for (const char *p = json; (p = strstr(p, "\"sleep\"")); p += 7) work += number_of(p, "\"sleep\"", 0);
  long long start = now_ms(), next = start + heartbeat;
  while (now_ms() - start < work) {
    if (terminated) { emit("task.failed", ",\"reason\":\"terminated\",\"message\":\"SIGTERM received\""); return 143; }
    usleep(10000);
    if (now_ms() >= next) {
      char up[64];
      snprintf(up, sizeof up, ",\"uptimeMs\":%lld", now_ms() - start);
      emit("heartbeat", up);
      next += heartbeat;
    }
  }
  for (const char *p = json; (p = strstr(p, "\"path\""));) {
    p = strchr(p + 6, '"');
    if (!p) break;
    const char *end = strchr(p + 1, '"');
    if (!end) break;
    char path[1024];
    snprintf(path, sizeof path, "%s/%.*s", ws, (int)(end - p - 1), p + 1);
    mkdirs_for(path);
    FILE *f = fopen(path, "w");
    if (!f || fputs("done\n", f) < 0 || fclose(f) != 0) {
      char why[256];
      snprintf(why, sizeof why, ",\"reason\":\"%s\",\"code\":\"%s\"", errno == ENOSPC ? "disk_full" : "step_failed", strerrorname_np(errno));
      emit("task.failed", why);
      return 1;
    }
    p = end + 1;
  }
  char done[64];
  snprintf(done, sizeof done, ",\"durationMs\":%lld", now_ms() - start);
  emit("task.completed", done);
  return 0;
}
`;

/** A built distroless worker image. */
export interface DistrolessWorker {
  readonly tag: string;
  readonly imageId: string;
  /** Removes the image (force). */
  remove(): Promise<void>;
}

/**
 * Compiles the worker with `gcc -static` and builds it `FROM scratch` as `tag`, labelled with
 * `labels`, through keelhaul's own `buildImage`. About 1 s of gcc and under 1 s of build.
 * @throws {MissingToolError} without gcc; an ImageBuildError when the daemon refuses the build
 */
export async function buildDistrolessWorker(docker: DockerClient, options: { tag: string; labels: Record<string, string> }): Promise<DistrolessWorker> {
  const gcc = requireTool('gcc', 'apt-get install gcc libc6-dev');
  const dir = await mkdtemp(join(tmpdir(), 'keelhaul-distroless-'));
  try {
    await writeFile(join(dir, 'worker.c'), WORKER_C);
    execFileSync(gcc, ['-static', '-O2', '-Wall', '-o', join(dir, 'worker'), join(dir, 'worker.c')], { stdio: 'pipe' });
    // No USER: the docker backend runs every worker as 1000:1000 anyway.
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\nCOPY worker /worker\nENTRYPOINT ["/worker"]\n');
    await rm(join(dir, 'worker.c'));
    const { imageId } = await docker.buildImage({ contextDir: dir, dockerfile: 'Dockerfile', tag: options.tag, labels: options.labels });
    return { tag: options.tag, imageId, remove: () => docker.removeImage(options.tag, { force: true }).catch(() => undefined) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
