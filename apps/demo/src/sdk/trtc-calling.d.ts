/**
 * Types of the SDK module the demo loads at run time from the server (`/sdk/trtc-calling.mjs`).
 * tsconfig maps that URL to this file, which re-exports the types of @ringline/calling: the demo is
 * type-checked against the real SDK, while the bundle keeps the import external so the page runs
 * the SDK the server ships, exactly as any app would.
 */
import type { TRTCCallType, TRTCCallingCallbacks, TRTCCallingEvent } from '@ringline/calling';

export { default } from '@ringline/calling';
export type { DeviceInfo, TRTCCallingOptions, VideoQuality } from '@ringline/calling';

/** `1`: audio call; `2`: video call (seed document). */
export type CallType = TRTCCallType;

/** An event name, as `TRTCCalling.EVENT` holds it. */
export type EventName = TRTCCallingEvent;

/** The listener of each event, with the payload it carries. */
export type EventHandlers = TRTCCallingCallbacks;
