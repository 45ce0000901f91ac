/** `@ringline/callkit/react`: the kit as a React component. */
export { TUICallKit, type TUICallKitProps } from './TUICallKit.js';
