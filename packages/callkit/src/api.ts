/**
 * What TUICallKit's entries (`@tencentcloud/call-uikit-react` / `-vue`) export besides the
 * component, with the same names and values, so one import line replaces theirs. Not provided:
 * TUIGlobal, TUIStore, NAME, uiDesign, plugin, CallMessage, JoinGroupCard (docs/migration.md).
 */
import { TUICallKitServer } from './core/shared.js';
import { translate, type TextKey } from './i18n/index.js';

export { TUICallKitServer } from './core/shared.js';
export {
  STATUS,
  CallMediaType,
  CallRole,
  CallStatus,
  TUICallType,
  VideoResolution,
  VideoDisplayMode,
  LayoutMode,
  FeatureButton,
  AudioPlayBackDevice,
  LOG_LEVEL,
  StoreName,
  type Status,
  type Language,
} from './core/types.js';
export type {
  CallKitCallbacks,
  CallsParams,
  InitParams,
  JoinParams,
} from './core/CallKitServer.js';
export type { CallEngineInstance } from './core/engine.js';

/** This package's version (TUICallKit exports its own as `Version`). */
export const Version = '0.1.0';

/**
 * The kit's translation in its current language (`setLanguage`): a key of the kit's string table
 * ({name} placeholders filled from `options`); an unknown key comes back unchanged, as TUICallKit's
 * `t` does for a text it has no translation of.
 */
export function t(key: string, options: Record<string, string | number> = {}): string {
  try {
    return translate(TUICallKitServer.state.language, key as TextKey, options);
  } catch {
    return key;
  }
}
