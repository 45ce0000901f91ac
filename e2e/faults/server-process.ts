/**
 * The real `ringline serve` as a child process (from the build: `npm run build` first), for fault
 * tests that kill it, restart it, or run it on a disk of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));

export interface ServerProcess {
  readonly child: ChildProcess;
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly sdkAppID: number;
  readonly secretKey: string;
  /** Everything the server wrote to stderr (its log) so far. */
  log(): string;
  /** Resolves with the exit code or signal once the process has exited. */
  exited(): Promise<number | NodeJS.Signals>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. Idempotent. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

export interface ServerProcessOptions {
  dataDir: string;
  /** A command the server runs under, e.g. `['unshare', '-m', …]`; its last word execs node. */
  wrap?: string[];
  /** Extra `serve` flags. */
  flags?: string[];
}

/** Starts `ringline serve --dev` on a free loopback port and resolves once it listens. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const command = [
    ...(options.wrap ?? []),
    process.execPath,
    CLI,
    'serve',
    '--dev',
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--janus',
    'off',
    '--data-dir',
    options.dataDir,
    ...(options.flags ?? []),
  ];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code ?? 0)),
  );
  const listening =
    /Ringline server listening on (\S+)[\s\S]*SDKAppID:\s+(\d+)\s+SecretKey:\s+(\S+)/;
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('the server did not start within 20 s')), 20_000);
    const check = () => {
      const m = listening.exec(stdout);
      if (m) done(undefined, m);
    };
    const exited = () => done(new Error(`the server exited before listening:\n${stderr}`));
    function done(err?: Error, m?: RegExpExecArray) {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', exited);
      if (m) resolve(m);
      else {
        child.kill('SIGKILL');
        reject(err);
      }
    }
    child.stdout!.on('data', check);
    child.once('exit', exited);
    check();
  });
  return {
    child,
    url: match[1]!,
    sdkAppID: Number(match[2]),
    secretKey: match[3]!,
    log: () => stderr,
    exited: () => exit,
    stop: (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exit;
    },
  };
}
