/**
 * `@ringline/callkit/vue`: the kit as a Vue 3 component, and everything
 * `@tencentcloud/call-uikit-vue` exports beside it, so only the import line changes.
 */
import { TUICallKit } from './TUICallKit.js';

export { TUICallKit } from './TUICallKit.js';
export { RecentCalls } from './RecentCalls.js';
export * from '../api.js';

/**
 * Vue plugin form (`app.use(...)` / `install(app)`): registers `<TUICallKit>` globally, as
 * TUICallKit's does — nothing more, so that no name of the app's own clashes. Ringline's
 * `<RecentCalls>` is imported by name where it is used.
 */
export function install(app: { component(name: string, component: unknown): unknown }): void {
  app.component('TUICallKit', TUICallKit);
}
