export type {
  BusMessage,
  CallRecord,
  CallStore,
  ClusterAdapters,
  InvitationRecord,
  InviteeState,
  LockManager,
  MessageBus,
  OutboxEntry,
  OutboxStore,
  Presence,
  PresenceStore,
  PushBody,
  Scheduler,
  ClusterHealth,
  Unsubscribe,
} from './types.js';
export { ClusterUnavailableError } from './errors.js';
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
export { createDelivery, type DeliverFn } from './delivery.js';
