export type {
  BusMessage,
  CallChanges,
  CallRecord,
  CallStore,
  ClusterAdapters,
  InvitationRecord,
  InviteeState,
  LoadedCall,
  LockManager,
  MessageBus,
  OutboxEntry,
  OutboxStore,
  Presence,
  PresenceStore,
  PushBody,
  Scheduler,
  NodeRegistry,
  SharedSessions,
  ClusterHealth,
  SfuBusOp,
  SfuBusReply,
  SfuBusRequest,
  SfuPlacement,
  Unsubscribe,
} from './types.js';
export { ClusterUnavailableError } from './errors.js';
export { parseSessionTimerKey, sessionTimerKey } from './keys.js';
export { TimerRouter } from './timer-router.js';
export { MemoryNodeRegistry, MemorySharedSessions, withSharedSessions } from './memory-sessions.js';
export {
  MemoryCallStore,
  MemoryLockManager,
  MemoryMessageBus,
  MemoryOutboxStore,
  MemoryPresenceStore,
  MemoryScheduler,
  createMemoryCluster,
  memoryClusterNode,
} from './memory.js';
export { createDelivery, createSharedDelivery, type DeliverFn } from './delivery.js';
