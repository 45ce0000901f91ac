/**
 * Checks `startServer` makes before it starts anything (coturn, Janus, the store): a port that
 * is taken or a data dir it cannot write would otherwise fail after child processes started, with
 * a raw system error.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigError } from './config.js';

/** Rejects with a ConfigError when nothing can listen on `host:port` (0 = any port: no check). */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ port, host, exclusive: true }, resolve);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'is in use: another server listens there (stop it, or pick another --port)'
        : code === 'EACCES'
          ? 'needs privileges this process lacks (ports under 1024; pick another --port)'
          : code === 'EADDRNOTAVAIL'
            ? 'names an address this machine does not have (check --host)'
            : `cannot be listened on (${code ?? String(err)})`;
    throw new ConfigError(`port ${port} on ${host} ${why}`);
  } finally {
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  }
}

/** Rejects with a ConfigError when `dir` cannot be created or written. */
export async function checkDataDirWritable(dir: string): Promise<void> {
  const probe = join(dir, `.write-check-${randomUUID()}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new ConfigError(`data dir ${dir} is not writable (${code}); pass --data-dir`);
  } finally {
    await rm(probe, { force: true }).catch(() => {});
  }
}
