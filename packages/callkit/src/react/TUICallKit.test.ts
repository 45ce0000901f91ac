import { createElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { RecentCalls } from './RecentCalls.js';
import { TUICallKit } from './TUICallKit.js';

describe('React <TUICallKit>', () => {
  it('renders the <tui-call-kit> element with its layout props', () => {
    const markup = renderToString(
      createElement(TUICallKit, {
        id: 'kit',
        className: 'call',
        style: { width: 640, height: 480 },
        statusChanged: () => {},
        allowedMinimized: true,
      }),
    );
    expect(markup).toBe(
      '<tui-call-kit id="kit" class="call" style="width:640px;height:480px"></tui-call-kit>',
    );
  });

  it('keeps callbacks and options off the markup (they are element properties, set on mount)', () => {
    const markup = renderToString(
      createElement(TUICallKit, {
        statusChanged: () => {},
        onMinimized: () => {},
        videoDisplayMode: 'contain',
      }),
    );
    expect(markup).toBe('<tui-call-kit></tui-call-kit>');
  });

  it('<RecentCalls> renders the <ringline-recent-calls> panel with its layout props', () => {
    const markup = renderToString(createElement(RecentCalls, { id: 'recents', className: 'side' }));
    expect(markup).toBe(
      '<ringline-recent-calls id="recents" class="side"></ringline-recent-calls>',
    );
  });
});
