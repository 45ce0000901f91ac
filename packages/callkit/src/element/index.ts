/**
 * Registers `<tui-call-kit>` (TUICallKit's tag) and its alias `<ringline-callkit>`, both rendering
 * the shared `TUICallKitServer`, and `<ringline-recent-calls>`, its recent-calls panel.
 */
import { TUICallKitServer } from '../core/shared.js';
import { TUICallKitElement, setDefaultServer } from './CallKitElement.js';
import { RinglineRecentCallsElement, setDefaultRecentsServer } from './RecentCallsElement.js';

export { TUICallKitElement } from './CallKitElement.js';
export { RinglineRecentCallsElement } from './RecentCallsElement.js';

/** The alias tag needs its own class: one constructor can be defined only once. */
export class RinglineCallKitElement extends TUICallKitElement {}

setDefaultServer(TUICallKitServer);
setDefaultRecentsServer(TUICallKitServer);

if (typeof customElements !== 'undefined') {
  if (!customElements.get('tui-call-kit')) customElements.define('tui-call-kit', TUICallKitElement);
  if (!customElements.get('ringline-callkit')) {
    customElements.define('ringline-callkit', RinglineCallKitElement);
  }
  if (!customElements.get('ringline-recent-calls')) {
    customElements.define('ringline-recent-calls', RinglineRecentCallsElement);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tui-call-kit': TUICallKitElement;
    'ringline-callkit': RinglineCallKitElement;
    'ringline-recent-calls': RinglineRecentCallsElement;
  }
}
