/**
 * `@ringline/callkit/vue`: the kit as a Vue 3 component, and everything
 * `@tencentcloud/call-uikit-vue` exports beside it, so only the import line changes.
 */
import { RecentCalls } from './RecentCalls.js';
import { TUICallKit } from './TUICallKit.js';

export { TUICallKit } from './TUICallKit.js';
export { RecentCalls } from './RecentCalls.js';
export * from '../api.js';

/**
 * Vue plugin form (`app.use(...)` / `install(app)`): registers `<TUICallKit>` (and Ringline's
 * `<RecentCalls>`) globally.
 */
export function install(app: { component(name: string, component: unknown): unknown }): void {
  app.component('TUICallKit', TUICallKit);
  app.component('RecentCalls', RecentCalls);
}
