// Child process of fuzz/run.mjs: the real Ringline server (the built packages/server/dist) on
// 127.0.0.1, started with the options the parent passes in FUZZ_SERVER_OPTIONS (JSON). It tells the
// parent its port when ready and counts what the server logs at warn/error level, which the parent
// asks for over IPC. An uncaught exception ends this process: that is the crash the fuzzer looks for.
import { startServer } from '@ringline/server';

const options = JSON.parse(process.env.FUZZ_SERVER_OPTIONS ?? '{}');
// Made (and removed, even after a crash) by the parent.
const dataDir = process.env.FUZZ_DATA_DIR;

/** Warnings and errors the server logged, by message (the first error's text kept as a sample). */
const logged = {};
function count(level) {
  return (msg, fields) => {
    const key = `${level}: ${msg}`;
    const entry = (logged[key] ??= { n: 0, sample: undefined });
    entry.n += 1;
    if (entry.sample === undefined && fields?.err !== undefined) {
      const err = fields.err;
      entry.sample = String(
        err instanceof Error ? err.stack?.split('\n', 3).join(' | ') : err,
      ).slice(0, 300);
    }
  };
}
const noop = () => {};
const logger = { debug: noop, info: noop, warn: count('warn'), error: count('error') };

const server = await startServer({ ...options, host: '127.0.0.1', port: 0, dataDir, logger });

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await server.close().catch(() => {});
  process.disconnect?.();
  process.exit(0);
}

process.on('message', (msg) => {
  if (msg.type === 'logged') process.send({ type: 'logged', logged });
  else if (msg.type === 'stop') void stop();
});
// The parent went away: nothing is left to fuzz us.
process.on('disconnect', () => void stop());
process.send({
  type: 'ready',
  port: server.port,
  sdkAppID: server.sdkAppID,
  secretKey: server.secretKey,
});
