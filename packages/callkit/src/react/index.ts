/**
 * `@ringline/callkit/react`: the kit as a React component, and everything
 * `@tencentcloud/call-uikit-react` exports beside it, so only the import line changes.
 */
export { TUICallKit, type TUICallKitProps } from './TUICallKit.js';
export { RecentCalls, type RecentCallsProps } from './RecentCalls.js';
export * from '../api.js';
