/**
 * The real server in a child process, started with startServer options (not CLI flags), for the fault tests (the fuzzer's fuzz/server.mjs: the built
 * packages/server/dist), so that what a test does to sockets and timers happens across a process
 * boundary, as it would between a client and a deployed server.
 */
import { randomBytes } from 'node:crypto';
import { ServerUnderTest } from '../../fuzz/server.mjs';

export interface ServerProcess {
  /** http://127.0.0.1:port */
  readonly url: string;
  readonly sdkAppID: number;
  readonly secretKey: string;
  /** Exits nobody asked for (a crash): must stay empty. */
  readonly crashes: { code: number | null; signal: string | null; stderr: string }[];
  /** Stops the child; idempotent. */
  close(): Promise<void>;
}

/** Starts a server process with `options` (startServer's, as JSON) on a free loopback port. */
export async function startServerProcess(
  options: Record<string, unknown> = {},
): Promise<ServerProcess> {
  const sdkAppID = 1400000002;
  const secretKey = randomBytes(32).toString('hex');
  const child = new ServerUnderTest({ sdkAppID, secretKey, janus: 'off', ...options });
  const crashes: ServerProcess['crashes'] = [];
  child.on(
    'exit',
    (info: { expected: boolean; code: number | null; signal: string | null; stderr: string }) => {
      if (!info.expected)
        crashes.push({ code: info.code, signal: info.signal, stderr: info.stderr });
    },
  );
  await child.start();
  let closing: Promise<void> | undefined;
  return {
    url: child.url,
    sdkAppID,
    secretKey,
    crashes,
    close: () => (closing ??= child.stop()),
  };
}
