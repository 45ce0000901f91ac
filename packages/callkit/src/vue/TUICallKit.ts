/**
 * `<TUICallKit>` for Vue 3: renders `<tui-call-kit>` and keeps its properties in sync with the
 * component's props (set as element properties: callbacks are functions).
 */
import { defineComponent, h, ref, watchEffect, type PropType } from 'vue';
import '../element/index.js';
import type { TUICallKitElement } from '../element/CallKitElement.js';
import { OPTION_DEFAULTS, assignElementProps, type CallKitProps } from '../element/props.js';

/** The call UI; one per page, rendering the shared `TUICallKitServer`. */
export const TUICallKit = defineComponent({
  name: 'TUICallKit',
  props: {
    beforeCalling: Function as PropType<CallKitProps['beforeCalling']>,
    afterCalling: Function as PropType<CallKitProps['afterCalling']>,
    onMinimized: Function as PropType<CallKitProps['onMinimized']>,
    kickedOut: Function as PropType<CallKitProps['kickedOut']>,
    statusChanged: Function as PropType<CallKitProps['statusChanged']>,
    allowedMinimized: { type: Boolean, default: OPTION_DEFAULTS.allowedMinimized },
    allowedFullScreen: { type: Boolean, default: OPTION_DEFAULTS.allowedFullScreen },
    videoDisplayMode: {
      type: String as PropType<NonNullable<CallKitProps['videoDisplayMode']>>,
      default: OPTION_DEFAULTS.videoDisplayMode,
    },
    videoResolution: {
      type: String as PropType<NonNullable<CallKitProps['videoResolution']>>,
      default: OPTION_DEFAULTS.videoResolution,
    },
  },
  setup(props) {
    const element = ref<TUICallKitElement | null>(null);
    // Re-runs whenever a prop (read by assignElementProps) or the element ref changes.
    watchEffect(
      () => {
        if (element.value) assignElementProps(element.value, { ...props });
      },
      { flush: 'post' },
    );
    return () => h('tui-call-kit', { ref: element });
  },
});

export default TUICallKit;
