/**
 * The cluster adapters' conformance suite (socket.io runs one adapter suite against every
 * adapter): each function declares the behaviour tests of one interface, given a factory of
 * nodes sharing one backend. `cluster/memory.test.ts` and `cluster/redis/redis.test.ts` run them.
 */
export { busConformance } from './bus.js';
export { devicesConformance } from './devices.js';
export { locksConformance } from './locks.js';
export { outboxConformance } from './outbox.js';
export { presenceConformance } from './presence.js';
export { schedulerConformance } from './scheduler.js';
export { sharedSessionsConformance, type MakeSharedNodes, type SharedNode } from './sessions.js';
export { gate, waitFor, type ClusterNode, type MakeNodes, type NodeOptions } from './support.js';

import { busConformance } from './bus.js';
import { devicesConformance } from './devices.js';
import { locksConformance } from './locks.js';
import { outboxConformance } from './outbox.js';
import { presenceConformance } from './presence.js';
import { schedulerConformance } from './scheduler.js';
import type { MakeNodes } from './support.js';

/** Every interface's suite against one kind of adapter. */
export function clusterConformance(makeNodes: MakeNodes): void {
  presenceConformance(makeNodes);
  devicesConformance(makeNodes);
  busConformance(makeNodes);
  schedulerConformance(makeNodes);
  locksConformance(makeNodes);
  outboxConformance(makeNodes);
}
