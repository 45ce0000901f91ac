/**
 * Registers `<tui-call-kit>` (TUICallKit's tag) and its alias `<ringline-callkit>`, both rendering
 * the shared `TUICallKitServer`.
 */
import { TUICallKitServer } from '../index.js';
import { TUICallKitElement, setDefaultServer } from './CallKitElement.js';

export { TUICallKitElement } from './CallKitElement.js';

/** The alias tag needs its own class: one constructor can be defined only once. */
export class RinglineCallKitElement extends TUICallKitElement {}

// index.ts imports this module, so when it is the entry the shared instance is created only after
// this module ran: the element reads it when it connects, not now.
setDefaultServer(() => TUICallKitServer);

if (typeof customElements !== 'undefined') {
  if (!customElements.get('tui-call-kit')) customElements.define('tui-call-kit', TUICallKitElement);
  if (!customElements.get('ringline-callkit')) {
    customElements.define('ringline-callkit', RinglineCallKitElement);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tui-call-kit': TUICallKitElement;
    'ringline-callkit': RinglineCallKitElement;
  }
}
