// The real `ringline serve` (from the build) on the public segment of the simulated internet, over
// HTTPS with a test certificate; with `janus`, it starts and supervises Janus there too.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PUBLIC_IFACE, PUBLIC_IP } from './topology.js';

const CLI = fileURLToPath(new URL('../../packages/server/bin/ringline.js', import.meta.url));
const BUILT = fileURLToPath(new URL('../../packages/server/dist/cli.js', import.meta.url));

/** Longest the server (with Janus and coturn) may take to listen. */
const START_TIMEOUT_MS = 30_000;

/**
 * @typedef {object} PublicServer
 * @property {string} url https://100.64.0.10:PORT
 * @property {number} sdkAppID
 * @property {string} secretKey
 * @property {() => string} log everything the server wrote so far (stdout and stderr, the tail)
 * @property {() => Promise<void>} close stops it (SIGTERM, then SIGKILL after 10 s) and removes
 *   its data dir; idempotent
 */

/**
 * Starts `ringline serve --dev` on PUBLIC_IP (any free port) inside the public namespace.
 * @param {import('./topology.js').Internet} internet
 * @param {{ cert?: { certFile: string, keyFile: string }, janus?: boolean, flags?: string[] }} options
 *   cert: serve HTTPS/WSS with it (`--tls-cert/--tls-key`); janus: `--janus auto` on pub0;
 *   flags: more `serve` flags (e.g. `--turn auto …`)
 * @returns {Promise<PublicServer>}
 */
export async function startPublicServer(internet, { cert, janus = false, flags = [] } = {}) {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
  const dataDir = await mkdtemp(join(tmpdir(), 'ringline-net-'));
  const command = internet.public.wrap([
    process.execPath,
    CLI,
    'serve',
    '--dev',
    '--host',
    PUBLIC_IP,
    '--port',
    '0',
    '--data-dir',
    dataDir,
    ...(cert ? ['--tls-cert', cert.certFile, '--tls-key', cert.keyFile] : []),
    ...(janus ? ['--janus', 'auto', '--janus-interface', PUBLIC_IFACE] : ['--janus', 'off']),
    ...flags,
  ]);
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  const keep = (d) => (output = (output + d).slice(-20_000));
  child.stdout?.on('data', (d) => {
    stdout += d;
    keep(d);
  });
  child.stderr?.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let closing;
  const close = () => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          // Its Janus/coturn are then left to the namespace's close(), which kills them.
          console.warn(`ringline serve did not stop within 10 s:\n${output.slice(-2000)}`);
          child.kill('SIGKILL');
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    })();
    return closing;
  };
  const listening = /listening on (\S+)[\s\S]*SDKAppID:\s+(\d+)\s+SecretKey:\s+(\S+)/;
  const deadline = Date.now() + START_TIMEOUT_MS;
  let match = listening.exec(stdout);
  while (!match) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`ringline serve ${flags.join(' ')} did not start:\n${output.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    match = listening.exec(stdout);
  }
  return {
    url: match[1],
    sdkAppID: Number(match[2]),
    secretKey: match[3],
    log: () => output,
    close,
  };
}

/**
 * The `serve` flags of a server offering TURN on the public segment: coturn started by the server
 * (`--turn auto`) on PUBLIC_IP, relaying only within the simulated internet.
 * @param {string[]} [more]
 */
export function turnFlags(more = []) {
  return [
    '--turn',
    'auto',
    '--public-ip',
    PUBLIC_IP,
    '--turn-allowed-peer-ip',
    '100.64.0.0/16',
    ...more,
  ];
}
