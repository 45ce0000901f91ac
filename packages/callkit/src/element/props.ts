/**
 * The component's public properties, shared by the React and Vue wrappers so all three take the
 * same names with the same defaults. Pure (no DOM) so it runs anywhere.
 */
import type { CallKitCallbacks, CallKitComponentOptions } from './server.js';

/** Every property of `<tui-call-kit>`: the TUICallKit callbacks and options. */
export type CallKitProps = CallKitCallbacks & CallKitComponentOptions;

/** Callback property names, in TUICallKit's order. */
export const CALLBACK_PROPS = [
  'beforeCalling',
  'afterCalling',
  'onMinimized',
  'kickedOut',
  'statusChanged',
] as const satisfies readonly (keyof CallKitCallbacks)[];

/** Option property names. */
export const OPTION_PROPS = [
  'allowedMinimized',
  'allowedFullScreen',
  'videoDisplayMode',
  'videoResolution',
] as const satisfies readonly (keyof CallKitComponentOptions)[];

export { OPTION_DEFAULTS } from '../core/initialState.js';

/**
 * Copies the kit's properties from `props` onto `element`, skipping those that are undefined (the
 * element keeps its default) and those that already have the value (no needless re-render).
 */
export function assignElementProps(element: object, props: Partial<CallKitProps>): void {
  const target = element as Record<string, unknown>;
  for (const name of [...CALLBACK_PROPS, ...OPTION_PROPS]) {
    const value = props[name];
    if (value !== undefined && target[name] !== value) target[name] = value;
  }
}
