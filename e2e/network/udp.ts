/** The UDP echo and probe of udp-tool.mjs, run inside namespaces of the simulated internet. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runCommand, type Namespace } from './netns.js';

const TOOL = fileURLToPath(new URL('./udp-tool.mjs', import.meta.url));

export interface UdpEcho {
  /** Stops the echo; idempotent. */
  close(): Promise<void>;
}

/**
 * Starts the echo on `ports` inside `ns` (each also pokes from port + 100 on "poke"); resolves once
 * it is bound.
 */
export async function startUdpEcho(ns: Namespace, ports: number[]): Promise<UdpEcho> {
  const command = ns.wrap([process.execPath, TOOL, 'echo', ...ports.map(String)]);
  const child: ChildProcess = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`UDP echo not ready within 5 s: ${err}`)), 5_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready":true')) finish();
    };
    const onExit = () => fail(new Error(`UDP echo exited: ${err}`));
    function finish() {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      resolve();
    }
    function fail(error: Error) {
      finish();
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
  return {
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ProbeReply {
  /** Who answered, ip:port. */
  from: string;
  /** The probe's source as the echo saw it: the public mapping under NAT. */
  mapped?: string;
  /** True for the echo's unsolicited packet from a port the probe never contacted. */
  poke: boolean;
  count: number;
}

export interface ProbeResult {
  /** The probe socket's local port. */
  local: number;
  replies: ProbeReply[];
}

/**
 * From one socket inside `ns`, sends `message` `count` times to each of `to` (ip:port) and collects
 * what comes back within `waitMs`.
 */
export async function udpProbe(
  ns: Namespace,
  to: string[],
  {
    count = 3,
    waitMs = 500,
    message = 'probe',
    gapMs = 5,
    port = 0,
  }: { count?: number; waitMs?: number; message?: string; gapMs?: number; port?: number } = {},
): Promise<ProbeResult> {
  const out = await runCommand(
    ns.name,
    ns.wrap([
      process.execPath,
      TOOL,
      'probe',
      '--to',
      to.join(','),
      '--count',
      String(count),
      '--wait',
      String(waitMs),
      '--message',
      message,
      '--gap',
      String(gapMs),
      '--port',
      String(port),
    ]),
  );
  return JSON.parse(out) as ProbeResult;
}
