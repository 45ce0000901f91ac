/** `@ringline/callkit/react`: the kit as a React component. */
export { TUICallKit, type TUICallKitProps } from './TUICallKit.js';
// The kit's controller, so that one import line replaces @tencentcloud/call-uikit-react's.
export { TUICallKitServer } from '../core/shared.js';
