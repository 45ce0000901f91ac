/**
 * Runs a helper daemon (Janus, coturn) as a foreground child of the server: starts it and waits
 * until it answers, restarts it with backoff when it dies, stops it on close() or when this process
 * exits, and kills one left behind by a server that was itself killed (SIGKILL leaves no chance to
 * stop children).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Logger } from '../log.js';

/** Finds an executable `name` on PATH (or checks `name` itself when it has a slash). */
export function findExecutable(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/')
    ? [name]
    : pathEnv
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  for (const file of candidates) {
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // not here; try the next one
    }
  }
  return undefined;
}

export interface ChildSupervisorOptions {
  /** For logs: `janus`, `coturn`. */
  name: string;
  binary: string;
  args: string[];
  /** Where the child's pid is recorded, so that the next start can stop a leftover. */
  pidFile: string;
  /** A leftover is only killed if its command line contains this (its config file). */
  cmdlineMarker: string;
  /** Whether the child answers yet (one probe, bounded in time). */
  answers(): Promise<boolean>;
  /** Says where it answers, for logs and errors. */
  where: string;
  startTimeoutMs: number;
  /** Makes the error a failed start rejects with. */
  startError(message: string, cause?: unknown): Error;
  log: Logger;
}

const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 8_000;
/** A child that stayed up this long resets the backoff. */
const STABLE_MS = 30_000;
/** How long a child gets to stop after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 3_000;

export class ChildSupervisor {
  #child: ChildProcess | undefined;
  #closed = false;
  #backoffMs = RESTART_MIN_MS;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  readonly #restartedListeners = new Set<() => void>();
  // A child left behind would hold its ports and keep working; kill it with us.
  readonly #killOnExit = (): void => {
    this.#child?.kill('SIGKILL');
  };

  constructor(private readonly o: ChildSupervisorOptions) {
    process.on('exit', this.#killOnExit);
  }

  /** Stops a child recorded in the pid file by an earlier run, then starts it; throws startError. */
  static async start(options: ChildSupervisorOptions): Promise<ChildSupervisor> {
    await killLeftover(options);
    const supervisor = new ChildSupervisor(options);
    try {
      await supervisor.#start();
    } catch (err) {
      await supervisor.close();
      throw err;
    }
    return supervisor;
  }

  /** Process id of the current child (changes on restart). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Called after a dead child was restarted and answers again. */
  onRestarted(listener: () => void): () => void {
    this.#restartedListeners.add(listener);
    return () => this.#restartedListeners.delete(listener);
  }

  async #start(): Promise<void> {
    const { name, log } = this.o;
    const child = spawn(this.o.binary, this.o.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#startedAt = Date.now();
    if (child.pid !== undefined) await writeFile(this.o.pidFile, String(child.pid)).catch(() => {});
    let output = '';
    const keep = (chunk: Buffer): void => {
      // Keep the tail only: enough to explain a failed start.
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    child.once('exit', (code, signal) => this.#exited(child, code, signal, output));
    log.info(`${name} starting`, { pid: child.pid, address: this.o.where, args: this.o.args });
    const deadline = Date.now() + this.o.startTimeoutMs;
    while (!this.#closed) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) {
        const how = spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`;
        throw this.o.startError(
          `${name} exited during start (${how}): ${lastLines(output)}`,
          spawnError,
        );
      }
      if (await this.o.answers()) {
        log.info(`${name} ready`, { pid: child.pid, address: this.o.where });
        return;
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw this.o.startError(
          `${name} did not answer on ${this.o.where} within ${this.o.startTimeoutMs} ms: ` +
            lastLines(output),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  #exited(
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    output: string,
  ): void {
    if (child !== this.#child) return;
    this.#child = undefined;
    if (this.#closed) return;
    const { name, log } = this.o;
    if (Date.now() - this.#startedAt > STABLE_MS) this.#backoffMs = RESTART_MIN_MS;
    const wait = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, RESTART_MAX_MS);
    log.error(`${name} exited; restarting`, {
      code,
      signal,
      inMs: wait,
      output: lastLines(output),
    });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#closed) return;
      this.#start().then(
        () => {
          for (const listener of this.#restartedListeners) {
            try {
              listener();
            } catch (err) {
              log.error(`${name} restart listener threw`, { err });
            }
          }
        },
        // A failed start either exited (#exited schedules the next try) or hung (killed in
        // #start, which also lands in #exited).
        (err: unknown) => log.error(`${name} restart failed`, { err }),
      );
    }, wait);
  }

  /** Stops the child and the supervision. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    process.off('exit', this.#killOnExit);
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    // Do not let a stuck child hold up shutdown.
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await gone;
    clearTimeout(timer);
    await rm(this.o.pidFile, { force: true });
    this.o.log.info(`${this.o.name} stopped`, { pid: child.pid });
  }
}

/** Kills the child an earlier run recorded, if it still runs on our config, and waits until gone. */
async function killLeftover(o: ChildSupervisorOptions): Promise<void> {
  const pid = Number(await readFile(o.pidFile, 'utf8').catch(() => ''));
  if (!Number.isInteger(pid) || pid <= 0) return;
  const cmdline = (): Promise<string> => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!(await cmdline()).includes(o.cmdlineMarker)) return;
  o.log.warn(`stopping a ${o.name} left behind by an earlier run`, { pid });
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  // Its ports must be free before the new one binds them.
  for (let i = 0; i < 50 && (await cmdline()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function lastLines(output: string): string {
  return output.trim().split('\n').slice(-8).join(' | ');
}
