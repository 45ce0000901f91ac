import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';

/**
 * `engines` tells the truth: every package the server runs on (its production dependencies, all
 * the way down) accepts the oldest Node this package declares, so a fresh install on that Node
 * prints no EBADENGINE (kysely 0.29, cookie 2 and content-disposition 3 once required Node 22).
 */
const require = createRequire(import.meta.url);
const semver = require('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const serverDir = new URL('../', import.meta.url).pathname;
const read = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** The directory of `name` as Node resolves it from `fromDir`, or undefined if not installed. */
function resolvePackage(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    try {
      readFileSync(join(candidate, 'package.json'));
      return candidate;
    } catch {
      if (dirname(dir) === dir) return undefined;
    }
  }
}

/** Every installed production dependency of the server, transitively, by directory. */
function productionTree(): Map<string, Manifest> {
  const seen = new Map<string, Manifest>();
  const queue = [serverDir];
  for (let i = 0; i < queue.length && i < 5_000; i++) {
    const manifest = read(queue[i]!);
    const deps = { ...manifest.dependencies, ...manifest.optionalDependencies };
    for (const name of Object.keys(deps)) {
      const dir = resolvePackage(name, queue[i]!);
      if (dir === undefined || seen.has(dir)) continue;
      seen.set(dir, read(dir));
      queue.push(dir);
    }
  }
  return seen;
}

describe('engines', () => {
  const declared = read(serverDir).engines?.node;
  const oldest = semver.minVersion(declared ?? '*')!.version;

  test('the server and the workspace declare the same Node range', () => {
    expect(declared).toBeDefined();
    expect(read(join(serverDir, '../..')).engines?.node).toBe(declared);
  });

  test('every production dependency accepts the oldest declared Node and the one running', () => {
    const tree = productionTree();
    expect(tree.size).toBeGreaterThan(20);
    const refusing = [...tree.values()]
      .filter((m) => m.engines?.node !== undefined)
      .filter(
        (m) =>
          !semver.satisfies(oldest, m.engines!.node!) ||
          !semver.satisfies(process.versions.node, m.engines!.node!),
      )
      .map((m) => `${m.name}@${m.version} wants node ${m.engines!.node}`);
    expect(refusing).toEqual([]);
  });
});
