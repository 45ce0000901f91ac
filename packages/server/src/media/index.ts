/** Media: the P2P relay and the SFU coordinator (see their headers for layering). */
export { SignalRelay } from './relay.js';
export {
  DEFAULT_SFU_HEAL_TIMEOUT_MS,
  SfuCoordinator,
  type HealHooks,
  type SfuCoordinatorOptions,
  type SfuOp,
} from './sfu-coordinator.js';
