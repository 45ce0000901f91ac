/**
 * What both demo pages need from the Ringline server in dev mode (`ringline serve --dev`): a
 * userSig for any user ID, and errors shown with the code the server or SDK gave them.
 */

export interface DevUserSig {
  sdkAppID: number;
  userID: string;
  userSig: string;
}

/** A failure with the code the server or SDK gave it, shown as `code: message`. */
export class DemoError extends Error {
  constructor(
    readonly code: number | string,
    message: string,
  ) {
    super(message);
    this.name = 'DemoError';
  }
}

/** `code: message` for anything with a code (SDK and server errors), else the message. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' && message ? message : String(error);
    return code === undefined ? text : `${String(code)}: ${text}`;
  }
  return String(error);
}

/** The dev-mode userSig endpoint of the Ringline server. */
export async function fetchDevUserSig(userID: string, signal?: AbortSignal): Promise<DevUserSig> {
  const response = await fetch(`/api/dev/usersig?userID=${encodeURIComponent(userID)}`, {
    signal,
    headers: { accept: 'application/json' },
  });
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 404) {
      throw new DemoError(404, 'this server does not mint userSigs: start it with --dev');
    }
    // The server answers `{code, message}`, possibly wrapped in `error`.
    const detail = (body as { error?: unknown } | null)?.error ?? body;
    const { code, message } = (detail ?? {}) as { code?: number; message?: string };
    throw new DemoError(code ?? response.status, message ?? response.statusText);
  }
  const sig = body as Partial<DevUserSig> | null;
  if (typeof sig?.sdkAppID !== 'number' || typeof sig.userSig !== 'string') {
    throw new DemoError(response.status, 'the userSig endpoint answered something unexpected');
  }
  return { sdkAppID: sig.sdkAppID, userID: sig.userID ?? userID, userSig: sig.userSig };
}
