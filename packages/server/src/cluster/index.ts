export type {
  BusMessage,
  CallRecord,
  CallStore,
  ClusterAdapters,
  InvitationRecord,
  InviteeState,
  LockManager,
  MessageBus,
  Presence,
  PresenceStore,
  PushBody,
  Scheduler,
  Unsubscribe,
} from './types.js';
export {
  MemoryCallStore,
  MemoryLockManager,
  MemoryMessageBus,
  MemoryPresenceStore,
  MemoryScheduler,
  createMemoryCluster,
} from './memory.js';
export { createDelivery, type DeliverFn } from './delivery.js';
