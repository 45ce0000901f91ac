// Reads a V8 .cpuprofile (as the inspector's Profiler.stop returns it) and lists the functions with the most self time.
import { readFile } from 'node:fs/promises';

/** The `limit` functions with the most self time: {function, where, 'self %'}. */
export async function summarizeProfile(file, limit) {
  const profile = JSON.parse(await readFile(file, 'utf8'));
  const byID = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  // Samples are node ids taken at a fixed interval: a node's count is its self time.
  for (const id of profile.samples) self.set(id, (self.get(id) ?? 0) + 1);
  const byFunction = new Map();
  for (const [id, n] of self) {
    const { functionName, url, lineNumber } = byID.get(id).callFrame;
    const key = `${functionName || '(anonymous)'}\t${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/packages\//, '')}:${lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + n);
  }
  const total = profile.samples.length;
  return [...byFunction]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([key, n]) => {
      const [fn, where] = key.split('\t');
      return { function: fn, where, 'self %': ((n / total) * 100).toFixed(1) };
    });
}
