/**
 * Where the SDK's bundles were loaded from, for `server`'s default: a page on one origin that loads
 * `<script src="https://calls.example.com/sdk/trtc-calling.js">` talks to calls.example.com, not
 * to itself. The script-tag bundle records `document.currentScript` as it runs; the ESM bundle
 * records `import.meta.url`. The npm build records nothing (a bundler rewrites those), so the page's
 * origin stays the default there.
 */
let scriptOrigin: string | undefined;

/** Records the URL the SDK was loaded from; only http(s) URLs count. */
export function setScriptUrl(url: unknown): void {
  if (typeof url !== 'string' || !url) return;
  try {
    const parsed = new URL(url);
    if (parsed.protocol === 'http:' || parsed.protocol === 'https:') scriptOrigin = parsed.origin;
  } catch {
    // Not a URL (an inline script): keep the page's origin.
  }
}

/** The origin the SDK's script came from, else the page's origin, else undefined. */
export function defaultServer(): string | undefined {
  return scriptOrigin ?? (globalThis as { location?: Location }).location?.origin;
}
