import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { describe, expect, it } from 'vitest';
import { OPTION_DEFAULTS } from '../element/props.js';
import { RecentCalls } from './RecentCalls.js';
import { TUICallKit } from './TUICallKit.js';

describe('Vue <TUICallKit>', () => {
  it('renders the <tui-call-kit> element', async () => {
    const app = createSSRApp({
      render: () =>
        h(TUICallKit, { statusChanged: () => {}, allowedMinimized: true, class: 'call' }),
    });
    expect(await renderToString(app)).toBe('<tui-call-kit class="call"></tui-call-kit>');
  });

  it('declares the same props as the element, with TUICallKit’s defaults', () => {
    const props = TUICallKit.props;
    expect(Object.keys(props).sort()).toEqual(
      [
        'afterCalling',
        'allowedFullScreen',
        'allowedMinimized',
        'beforeCalling',
        'kickedOut',
        'onMinimized',
        'statusChanged',
        'videoDisplayMode',
        'videoResolution',
      ].sort(),
    );
    expect({
      allowedMinimized: props.allowedMinimized.default,
      allowedFullScreen: props.allowedFullScreen.default,
      videoDisplayMode: props.videoDisplayMode.default,
      videoResolution: props.videoResolution.default,
    }).toEqual(OPTION_DEFAULTS);
  });

  it('<RecentCalls> renders the <ringline-recent-calls> panel', async () => {
    const app = createSSRApp({ render: () => h(RecentCalls, { class: 'side' }) });
    expect(await renderToString(app)).toBe(
      '<ringline-recent-calls class="side"></ringline-recent-calls>',
    );
  });
});
