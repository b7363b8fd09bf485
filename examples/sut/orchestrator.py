#!/usr/bin/env python3
"""acme-orchestrator: a small agent orchestrator with a Docker mode, for keelhaul to test.

It shares no code with keelhaul: it drives the docker CLI directly. Tasks run as worker
containers, a batch at a time; state lives in a JSON file written atomically; completions
go to a JSONL ledger; every step goes to a JSONL event log. `resume` picks a run up from
its state file: a worker container that still runs is waited for, one that exited is
judged by its exit code, one that is gone is started again, and completed tasks are
never re-run.

    orchestrator.py run|resume

Environment:
  ACME_RUN_ID        run id, put on every container and volume as acme.run (default: KEELHAUL_RUN_ID)
  ACME_STATE_DIR     state.json, ledger.jsonl, events.jsonl (default: KEELHAUL_STATE_DIR)
  ACME_WORKER_IMAGE  image with /bin/sh and /workspace owned by uid 1000
  ACME_TASKS         how many tasks (default 4), ids task-1 … task-N
  ACME_BATCH         tasks per batch (default 2)
  ACME_TASK_SECONDS  how long a task's worker works (default 2)
  ACME_MAX_ATTEMPTS  attempts per task (default 3)
  ACME_NETWORK       the workers' network mode (default none)
  ACME_USER          the workers' user (default 1000:1000)
  ACME_MODE          docker (default): a worker container per task; local: a worker process per task
  ACME_BUG_LEAK=1    bug: a failed worker container is never removed
  ACME_BUG_RERUN=1   bug: resume runs completed tasks again

Exit codes: 0 all tasks completed; 1 a task failed every attempt; 3 the Docker daemon
did not answer (state saved: resume once it is back).
"""
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone

RUN = os.environ.get("ACME_RUN_ID") or os.environ["KEELHAUL_RUN_ID"]
STATE_DIR = os.environ.get("ACME_STATE_DIR") or os.environ["KEELHAUL_STATE_DIR"]
IMAGE = os.environ["ACME_WORKER_IMAGE"]
TASKS = int(os.environ.get("ACME_TASKS", "4"))
BATCH = int(os.environ.get("ACME_BATCH", "2"))
TASK_SECONDS = float(os.environ.get("ACME_TASK_SECONDS", "2"))
MAX_ATTEMPTS = int(os.environ.get("ACME_MAX_ATTEMPTS", "3"))
NETWORK = os.environ.get("ACME_NETWORK", "none")
USER = os.environ.get("ACME_USER", "1000:1000")
MODE = os.environ.get("ACME_MODE", "docker")
BUG_LEAK = os.environ.get("ACME_BUG_LEAK") == "1"
BUG_RERUN = os.environ.get("ACME_BUG_RERUN") == "1"

STATE = os.path.join(STATE_DIR, "state.json")
LEDGER = os.path.join(STATE_DIR, "ledger.jsonl")
EVENTS = os.path.join(STATE_DIR, "events.jsonl")
OUTPUTS = os.path.join(STATE_DIR, "outputs")
LOCAL = {}  # task id -> subprocess.Popen, in local mode


class DaemonDown(Exception):
    pass


def now():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def log(kind, task_id=None, **fields):
    entry = {"ts": now(), "type": kind}
    if task_id is not None:
        entry["task_id"] = task_id
    entry.update(fields)
    with open(EVENTS, "a") as f:
        f.write(json.dumps(entry) + "\n")
        f.flush()
        os.fsync(f.fileno())
    print(f"acme: {kind} {task_id or ''} {json.dumps(fields) if fields else ''}".rstrip(), flush=True)


def docker(*args, check=True):
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    if proc.returncode != 0 and check:
        err = proc.stderr.strip()
        if any(s in err for s in ("Cannot connect to the Docker daemon", "error during connect", "unexpected EOF")) or "connection refused" in err.lower():
            raise DaemonDown(err)
        raise RuntimeError(f"docker {' '.join(args)}: {err}")
    return proc


def save(state):
    tmp = STATE + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, STATE)


def load():
    with open(STATE) as f:
        return json.load(f)


def ledger_keys():
    if not os.path.exists(LEDGER):
        return set()
    with open(LEDGER) as f:
        return {json.loads(line)["task_id"] for line in f if line.strip()}


def complete(state, task_id, attempt):
    with open(LEDGER, "a") as f:
        f.write(json.dumps({"task_id": task_id, "attempt": attempt, "ts": now()}) + "\n")
        f.flush()
        os.fsync(f.fileno())
    state["tasks"][task_id]["status"] = "done"
    save(state)
    log("task.completed", task_id, attempt=attempt)


def work_script(task_id, out_dir):
    # A worker that ends on SIGTERM (docker stop) as a real one would: sh as pid 1 ignores it otherwise.
    return f"trap 'exit 143' TERM; sleep {TASK_SECONDS} & wait $!; echo {task_id} > {out_dir}/{task_id}.txt"


def start_worker(state, task_id):
    task = state["tasks"][task_id]
    task["attempts"] += 1
    if MODE == "local":
        LOCAL[task_id] = subprocess.Popen(["/bin/sh", "-c", work_script(task_id, OUTPUTS)])
        task["status"] = "running"
        task["container"] = f"pid:{LOCAL[task_id].pid}"
        save(state)
        log("task.started", task_id, attempt=task["attempts"], container=task["container"])
        return task["container"]
    name = f"acme-{RUN}-{task_id}-{task['attempts']}"
    volume = f"acme-{RUN}-{task_id}"
    docker("volume", "create", "--label", f"acme.run={RUN}", "--label", f"acme.task={task_id}", volume)
    # A run killed after `docker run` but before saving its state left this name taken: launches are idempotent.
    docker("rm", "-f", name, check=False)
    script = work_script(task_id, "/out")
    cid = docker(
        "run", "-d", "--name", name,
        "--label", f"acme.run={RUN}", "--label", f"acme.task={task_id}", "--label", "acme.managed=true",
        "--network", NETWORK, "--user", USER, "--cap-drop", "ALL", "--read-only",
        "--security-opt", "no-new-privileges", "--memory", "64m", "--pids-limit", "64",
        "-v", f"{volume}:/workspace", "-v", f"{OUTPUTS}:/out", "--entrypoint", "/bin/sh", IMAGE, "-c", script,
    ).stdout.strip()
    task["status"] = "running"
    task["container"] = cid
    save(state)
    log("task.started", task_id, attempt=task["attempts"], container=cid[:12])
    return cid


def container_state(cid):
    proc = docker("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", cid, check=False)
    if proc.returncode != 0:
        if "No such" in proc.stderr or "no such" in proc.stderr:
            return None, None
        docker("inspect", cid)  # raises DaemonDown or RuntimeError with the reason
    status, code = proc.stdout.split()
    return status, int(code)


def finish(state, task_id):
    """Waits for the task's container and judges it; returns True when the task is settled."""
    task = state["tasks"][task_id]
    cid = task["container"]
    if MODE == "local":
        proc = LOCAL.pop(task_id, None)
        status, code = (None, None) if proc is None else ("exited", proc.wait())
    else:
        status, code = container_state(cid)
    if status is None:
        log("task.lost", task_id, attempt=task["attempts"])
        return False
    if status not in ("exited", "dead"):
        code = int(docker("wait", cid).stdout.strip() or "1")
    if code == 0:
        complete(state, task_id, task["attempts"])
        if MODE != "local":
            docker("rm", "-f", cid, check=False)
        return True
    log("task.failed", task_id, attempt=task["attempts"], exit_code=code)
    if not BUG_LEAK and MODE != "local":
        docker("rm", "-f", cid, check=False)
    if task["attempts"] >= MAX_ATTEMPTS:
        task["status"] = "failed"
        save(state)
        return True
    return False


def drive(state):
    ids = list(state["tasks"].keys())
    for i in range(0, len(ids), BATCH):
        batch = [t for t in ids[i:i + BATCH] if state["tasks"][t]["status"] not in ("done", "failed")]
        if not batch:
            continue
        log("batch.started", None, tasks=batch)
        for t in batch:
            if state["tasks"][t]["status"] != "running":
                start_worker(state, t)
        pending = list(batch)
        while pending:
            t = pending.pop(0)
            if not finish(state, t):
                start_worker(state, t)
                pending.append(t)
    if MODE != "local":
        for t in ids:
            docker("volume", "rm", "-f", f"acme-{RUN}-{t}", check=False)
    failed = [t for t in ids if state["tasks"][t]["status"] == "failed"]
    log("run.finished", None, failed=failed)
    return 1 if failed else 0


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "run"
    os.makedirs(STATE_DIR, exist_ok=True)
    os.makedirs(OUTPUTS, exist_ok=True)
    # Workers run as another user (uid 1000) and write their result here.
    os.chmod(OUTPUTS, 0o777)
    if mode == "run":
        state = {"run": RUN, "tasks": {f"task-{i}": {"status": "pending", "attempts": 0, "container": None} for i in range(1, TASKS + 1)}}
        save(state)
        log("run.started", None, tasks=TASKS)
    elif mode == "resume":
        state = load()
        done = ledger_keys()
        log("run.resumed", None)
        for task_id, task in state["tasks"].items():
            if BUG_RERUN:
                task["status"] = "pending"
                continue
            if task_id in done:
                task["status"] = "done"
                # Killed between its ledger line and removing the worker: remove it now.
                if task.get("container") and MODE != "local":
                    docker("rm", "-f", task["container"], check=False)
        save(state)
    else:
        print(f"usage: {sys.argv[0]} run|resume", file=sys.stderr)
        return 2
    try:
        return drive(state)
    except DaemonDown as e:
        log("daemon.unavailable", None, error=str(e)[:200])
        return 3


if __name__ == "__main__":
    sys.exit(main())
