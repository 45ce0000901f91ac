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
  ClusterHealth,
  Unsubscribe,
} from './types.js';
export { ClusterUnavailableError } from './errors.js';
export {
  checkChanges,
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
