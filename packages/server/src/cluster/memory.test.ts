/** The in-memory adapters against the conformance suite: nodes are views over one shared set. */
import { describe } from 'vitest';
import { clusterConformance } from './conformance/index.js';
import { createMemoryCluster, memoryClusterNode } from './memory.js';

describe('in-memory cluster adapters', () => {
  clusterConformance(async (count, options = {}) => {
    const cluster = createMemoryCluster({ lockTtlMs: options.lockTtlMs });
    const nodes = Array.from({ length: count }, () => memoryClusterNode(cluster));
    return {
      nodes,
      async close() {
        for (const n of nodes) await n.close();
        await cluster.close();
      },
    };
  });
});
