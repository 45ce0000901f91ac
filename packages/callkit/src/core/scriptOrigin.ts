/**
 * The origin of the classic `<script src>` this bundle was loaded from, read once while the script
 * runs (`document.currentScript` is only set then, and never for ES modules). Loaded as
 * `<script src="https://calls.example.com/sdk/callkit.js">`, the kit talks to calls.example.com
 * rather than to the page's origin.
 */
export function originOfScript(script: unknown): string | undefined {
  const src = (script as { src?: unknown } | null | undefined)?.src;
  if (typeof src !== 'string' || !src) return undefined;
  try {
    const url = new URL(src);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Where this kit's script came from, when it was loaded by a classic script tag. */
export const SCRIPT_ORIGIN: string | undefined =
  typeof document === 'undefined' ? undefined : originOfScript(document.currentScript);
