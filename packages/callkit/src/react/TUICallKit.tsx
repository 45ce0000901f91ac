/**
 * `<TUICallKit>` for React: renders `<tui-call-kit>` and hands it the kit's properties. Properties
 * are set on the element (not as attributes) because callbacks are functions, and React 19 would
 * read `on*` props of a custom element as event listeners.
 */
import { createElement, useLayoutEffect, useRef, type CSSProperties } from 'react';
import '../element/index.js';
import type { TUICallKitElement } from '../element/CallKitElement.js';
import { assignElementProps, type CallKitProps } from '../element/props.js';

/** The component's props: TUICallKit's callbacks and options, plus layout. */
export interface TUICallKitProps extends CallKitProps {
  id?: string;
  className?: string;
  style?: CSSProperties;
}

/**
 * Defaults of TUICallKit's React component where they differ from the element's (and the Vue
 * component's): its React `<TUICallKit>` lets the call be minimized unless told otherwise.
 */
export const REACT_DEFAULTS = { allowedMinimized: true } as const;

/** The call UI; one per page, rendering the shared `TUICallKitServer`. */
export function TUICallKit(props: TUICallKitProps) {
  const ref = useRef<TUICallKitElement>(null);
  // Layout effect: the element has its callbacks before the browser paints or a call event lands.
  useLayoutEffect(() => {
    if (!ref.current) return;
    assignElementProps(ref.current, {
      ...props,
      allowedMinimized: props.allowedMinimized ?? REACT_DEFAULTS.allowedMinimized,
    });
  });
  return createElement('tui-call-kit', {
    ref,
    id: props.id,
    class: props.className,
    style: props.style,
  });
}

export default TUICallKit;
