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
  Presence,
  PresenceStore,
  PushBody,
  Scheduler,
  Unsubscribe,
} from './types.js';
export {
  checkChanges,
  MemoryCallStore,
  MemoryLockManager,
  MemoryMessageBus,
  MemoryPresenceStore,
  MemoryScheduler,
  createMemoryCluster,
} from './memory.js';
export { createDelivery, type DeliverFn } from './delivery.js';
