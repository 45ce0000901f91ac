// A STUN-only coturn on the public segment, for calls "without TURN": clients still learn their
// public (server-reflexive) address, so a failure to connect is the NAT's doing, not a missing
// STUN server.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Starts `turnserver --stun-only` on `ip`:`port` inside `ns`; resolves once it listens.
 * @param {import('./netns.js').Namespace} ns
 * @param {string} ip
 * @param {number} [port]
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export async function startStunServer(ns, ip, port = 3478) {
  const dir = await mkdtemp(join(tmpdir(), 'ringline-stun-'));
  const command = ns.wrap([
    'turnserver',
    '-n', // no config file: everything is on this command line
    '--stun-only',
    '--listening-ip',
    ip,
    '--listening-port',
    String(port),
    '--no-cli',
    '--no-tls',
    '--no-dtls',
    '--log-file',
    'stdout',
    '--simple-log',
    '--pidfile',
    join(dir, 'turnserver.pid'),
    '--userdb',
    join(dir, 'turndb'),
  ]);
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d) => (output = (output + d).slice(-8000)));
  child.stderr?.on('data', (d) => (output = (output + d).slice(-8000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!/Total General servers/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`STUN server did not start:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `stun:${ip}:${port}`, close };
}
