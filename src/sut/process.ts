import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { createInterface } from 'node:readline';

/** How one run of the SUT's command ended. */
export interface SutExit {
  /** `run` for the first command, `resume` for each resume. */
  readonly phase: 'run' | 'resume';
  readonly argv: readonly string[];
  readonly pid: number;
  readonly startedAt: string;
  readonly endedAt: string;
  /** null when a signal ended it. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** keelhaul ended it: `sut-kill` (a fault), `timeout` (its `timeoutMs`), `abort` (the run ended first). */
  readonly killedBy?: 'sut-kill' | 'timeout' | 'abort';
  /** Its last lines of stderr (at most {@link STDERR_TAIL_LINES}), for a report that says why it failed. */
  readonly stderrTail: readonly string[];
}

/** How many of its last stderr lines an exit keeps. */
export const STDERR_TAIL_LINES = 8;

/** The SUT's command could not be started (no such file, not executable). */
export class SutStartError extends Error {
  override name = 'SutStartError';
  readonly argv: readonly string[];
  readonly cwd: string;
  constructor(argv: readonly string[], cwd: string, options: { cause?: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`cannot start the system under test ${JSON.stringify(argv)} in ${cwd}: ${reason}; check sut.command and sut.cwd`, options);
    this.argv = argv;
    this.cwd = cwd;
  }
}

/** Options of {@link startSutProcess}. */
export interface SutProcessOptions {
  readonly phase: 'run' | 'resume';
  readonly argv: readonly string[];
  /** Run `argv[0]` with `/bin/sh -c` (scenario `sut.shell`). */
  readonly shell: boolean;
  readonly cwd: string;
  /** The whole environment of the process (keelhaul's, the scenario's, `KEELHAUL_*`, `DOCKER_HOST`). */
  readonly env: Readonly<Record<string, string>>;
  /** Appended to, with every line of stdout and stderr prefixed by nothing: the SUT's own bytes. */
  readonly stdoutFile: string;
  readonly stderrFile: string;
  /** Called per output line (UTF-8, without its newline), stdout and stderr alike. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Bound on the run, ms; past it the process group gets SIGKILL and the exit says `timeout`. */
  readonly timeoutMs: number;
}

/**
 * One run of the SUT's command as the leader of its own process group (`setsid` semantics
 * through `detached: true`), so that a signal reaches everything it started — its docker
 * CLI calls, its worker processes — and nothing it started outlives it when keelhaul kills it.
 */
export class SutProcess {
  readonly #child: ChildProcess;
  readonly #options: SutProcessOptions;
  readonly #startedAt = new Date().toISOString();
  readonly #timer: NodeJS.Timeout;
  #killedBy: SutExit['killedBy'];
  readonly #stderrTail: string[] = [];
  readonly exited: Promise<SutExit>;
  readonly #outputs: WriteStream[];

  private constructor(child: ChildProcess, options: SutProcessOptions, outputs: WriteStream[]) {
    this.#child = child;
    this.#options = options;
    this.#outputs = outputs;
    this.#timer = setTimeout(() => this.signal('SIGKILL', 'timeout'), options.timeoutMs);
    this.#timer.unref();
    this.exited = new Promise<SutExit>((resolve) => {
      child.once('close', (code, signal) => {
        clearTimeout(this.#timer);
        // Whatever the leader left behind in its group goes with it.
        this.#signalGroup('SIGKILL');
        void Promise.all(outputs.map((s) => new Promise<void>((done) => s.end(done)))).finally(() =>
          resolve({
            phase: options.phase,
            argv: options.argv,
            pid: child.pid ?? 0,
            startedAt: this.#startedAt,
            endedAt: new Date().toISOString(),
            exitCode: code,
            signal: signal,
            ...(this.#killedBy ? { killedBy: this.#killedBy } : {}),
            stderrTail: [...this.#stderrTail],
          }),
        );
      });
    });
  }

  /**
   * Starts the command.
   * @throws {SutStartError} when it cannot start (ENOENT, EACCES on `argv[0]` or `cwd`)
   */
  static async start(options: SutProcessOptions): Promise<SutProcess> {
    const [file, ...args] = options.shell ? ['/bin/sh', '-c', options.argv.join(' ')] : options.argv;
    const stdout = createWriteStream(options.stdoutFile, { flags: 'a' });
    const stderr = createWriteStream(options.stderrFile, { flags: 'a' });
    const child = spawn(file ?? '', args, { cwd: options.cwd, env: { ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (error) => {
        stdout.end();
        stderr.end();
        reject(new SutStartError(options.argv, options.cwd, { cause: error }));
      });
    });
    const process = new SutProcess(child, options, [stdout, stderr]);
    for (const [name, stream, file] of [
      ['stdout', child.stdout, stdout],
      ['stderr', child.stderr, stderr],
    ] as const) {
      if (!stream) continue;
      stream.pipe(file, { end: false });
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        if (name === 'stderr') process.#noteStderr(line);
        options.onLine?.(line, name);
      });
    }
    return process;
  }

  #noteStderr(line: string): void {
    this.#stderrTail.push(line.slice(0, 500));
    if (this.#stderrTail.length > STDERR_TAIL_LINES) this.#stderrTail.shift();
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** Whether it is still running (its `close` has not come). */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /**
   * Sends `signal` to the whole process group; `by` is recorded on the exit.
   * @returns false when the group is gone already
   */
  signal(signal: string, by: NonNullable<SutExit['killedBy']>): boolean {
    this.#killedBy ??= by;
    return this.#signalGroup(signal);
  }

  #signalGroup(signal: string): boolean {
    const pid = this.#child.pid;
    if (pid === undefined || !(signal in osConstants.signals)) return false;
    try {
      // A negative pid addresses the process group whose leader it is (kill(2)).
      process.kill(-pid, signal as NodeJS.Signals);
      return true;
    } catch {
      return false;
    }
  }

  /** The files its output goes to. */
  get outputFiles(): { stdout: string; stderr: string } {
    return { stdout: this.#options.stdoutFile, stderr: this.#options.stderrFile };
  }

  /** Closes the output files if the process never closed them (for tests that abandon it). */
  dispose(): void {
    clearTimeout(this.#timer);
    for (const s of this.#outputs) s.end();
  }
}
