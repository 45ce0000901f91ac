/**
 * `<RecentCalls>` for Vue 3 (Ringline extension): renders `<ringline-recent-calls>`, the
 * recent-calls panel of the shared `TUICallKitServer` (it loads once the kit is logged in).
 */
import { defineComponent, h } from 'vue';
import '../element/index.js';

/** The user's recent calls, missed calls marked, with call-back buttons. */
export const RecentCalls = defineComponent({
  name: 'RecentCalls',
  setup() {
    return () => h('ringline-recent-calls');
  },
});
