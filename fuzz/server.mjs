// The server under test as a child process (fuzz/server-process.mjs): start, restart after a
// crash, memory from /proc/<pid>/status, the tail of its stderr (where an uncaught exception's
// stack goes), and a promise of its exit, which is how a crash is noticed.
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./server-process.mjs', import.meta.url));
const STDERR_TAIL = 16 * 1024;

/** Emits `exit` ({code, signal, stderr, expected}) whenever the child ends. */
export class ServerUnderTest extends EventEmitter {
  /** @param {object} options startServer options (the fuzzer's SERVER_OPTIONS) */
  constructor(options) {
    super();
    this.options = options;
    /** @type {import('node:child_process').ChildProcess | undefined} */
    this.proc = undefined;
    this.url = '';
    this.pid = 0;
    /** Children started so far (1 + restarts). */
    this.generation = 0;
    this.stderr = '';
    this.#setDown();
  }

  /** Resolves once a server is up (at once if one is). */
  ready() {
    return this.up;
  }

  #setDown() {
    this.running = false;
    this.up = new Promise((resolve) => (this.markUp = resolve));
  }

  /** Starts a child; resolves when it listens. Rejects if it does not come up in `timeoutMs`. */
  async start(timeoutMs = 30_000) {
    const dataDir = await mkdtemp(join(tmpdir(), 'ringline-fuzz-'));
    const proc = fork(SCRIPT, [], {
      env: {
        ...process.env,
        FUZZ_SERVER_OPTIONS: JSON.stringify(this.options),
        FUZZ_DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.proc = proc;
    this.generation += 1;
    this.stderr = '';
    let expected = false;
    proc.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d.toString()).slice(-STDERR_TAIL);
    });
    proc.once('exit', (code, signal) => {
      if (this.proc === proc) {
        this.proc = undefined;
        this.#setDown();
      }
      // Awaited by stop(), so that a parent that exits next leaves nothing behind.
      this.cleanup = rm(dataDir, { recursive: true, force: true });
      // Let the last of stderr arrive before reporting.
      setTimeout(() => this.emit('exit', { code, signal, stderr: this.stderr, expected }), 50);
    });
    proc.stop = () => {
      expected = true;
    };
    const ready = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server did not start in time')), timeoutMs);
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code} while starting: ${this.stderr.slice(-2000)}`));
      });
      proc.on('message', (msg) => {
        if (msg.type === 'ready') {
          clearTimeout(timer);
          resolve(msg);
        }
      });
    });
    this.url = `http://127.0.0.1:${ready.port}`;
    this.pid = proc.pid;
    this.running = true;
    this.markUp();
    return ready;
  }

  /** RSS and its peak (VmHWM) of the current child, in bytes; undefined when none runs. */
  async memory() {
    if (!this.proc) return undefined;
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
      return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 };
    } catch {
      return undefined;
    }
  }

  /** What the server logged at warn/error level, by message (from the child, over IPC). */
  logged(timeoutMs = 5000) {
    const proc = this.proc;
    if (!proc?.connected) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      const onMessage = (msg) => {
        if (msg.type !== 'logged') return;
        clearTimeout(timer);
        proc.off('message', onMessage);
        resolve(msg.logged);
      };
      proc.on('message', onMessage);
      proc.send({ type: 'logged' });
    });
  }

  /** Kills a child that stopped answering (counted by the caller as a crash). */
  kill() {
    this.proc?.kill('SIGKILL');
  }

  /** Stops the current child cleanly (an expected exit); resolves when it is gone. */
  async stop(timeoutMs = 10_000) {
    const proc = this.proc;
    if (!proc) return;
    proc.stop();
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    if (proc.connected) proc.send({ type: 'stop' });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(timer);
    await this.cleanup;
  }
}

/** The crash's signature: the error line and the first frame of its stack, from stderr. */
export function crashSignature(stderr) {
  const lines = stderr.split('\n').map((l) => l.trim());
  const at = lines.findIndex((l) => l.startsWith('at '));
  if (at < 0) return lines.filter(Boolean).slice(-1)[0]?.slice(0, 200) ?? '(no output)';
  let err = at - 1;
  while (err > 0 && !/Error|error|^\w+:/.test(lines[err])) err--;
  return `${lines[err]} ${lines[at]}`.slice(0, 300);
}
