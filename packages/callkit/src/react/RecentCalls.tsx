/**
 * `<RecentCalls>` for React (Ringline extension): renders `<ringline-recent-calls>`, the recent-calls
 * panel of the shared `TUICallKitServer` (it loads once the kit is logged in).
 */
import { createElement, type CSSProperties } from 'react';
import '../element/index.js';

export interface RecentCallsProps {
  id?: string;
  className?: string;
  style?: CSSProperties;
}

/** The user's recent calls, missed calls marked, with call-back buttons. */
export function RecentCalls(props: RecentCallsProps) {
  return createElement('ringline-recent-calls', {
    id: props.id,
    class: props.className,
    style: props.style,
  });
}
