/**
 * Registers `<tui-call-kit>` (TUICallKit's tag) and its alias `<ringline-callkit>`, both rendering
 * the shared `TUICallKitServer`.
 */
import { TUICallKitServer } from '../core/shared.js';
import { TUICallKitElement, setDefaultServer } from './CallKitElement.js';

export { TUICallKitElement } from './CallKitElement.js';

/** The alias tag needs its own class: one constructor can be defined only once. */
export class RinglineCallKitElement extends TUICallKitElement {}

setDefaultServer(TUICallKitServer);

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
