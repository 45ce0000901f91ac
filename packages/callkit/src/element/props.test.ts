import { describe, expect, it } from 'vitest';
import { OPTION_DEFAULTS, assignElementProps } from './props.js';

describe('assignElementProps', () => {
  it('sets every known callback and option on the element', () => {
    const element: Record<string, unknown> = {};
    const statusChanged = () => {};
    const kickedOut = () => {};
    assignElementProps(element, {
      statusChanged,
      kickedOut,
      allowedMinimized: true,
      allowedFullScreen: false,
      videoDisplayMode: 'contain',
      videoResolution: '1080p',
    });
    expect(element).toEqual({
      statusChanged,
      kickedOut,
      allowedMinimized: true,
      allowedFullScreen: false,
      videoDisplayMode: 'contain',
      videoResolution: '1080p',
    });
    expect(element.statusChanged).toBe(statusChanged);
  });

  it('leaves undefined props alone so the element keeps its defaults', () => {
    const element: Record<string, unknown> = { ...OPTION_DEFAULTS };
    assignElementProps(element, { allowedMinimized: undefined, videoResolution: '720p' });
    expect(element).toEqual({ ...OPTION_DEFAULTS, videoResolution: '720p' });
  });

  it('does not reassign a property that already has the value', () => {
    let writes = 0;
    const callback = () => {};
    const element = {
      get afterCalling() {
        return callback;
      },
      set afterCalling(_value: unknown) {
        writes += 1;
      },
    };
    assignElementProps(element, { afterCalling: callback });
    expect(writes).toBe(0);
    assignElementProps(element, { afterCalling: () => {} });
    expect(writes).toBe(1);
  });

  it('ignores props that are not the kit’s', () => {
    const element: Record<string, unknown> = {};
    assignElementProps(element, { className: 'x' } as never);
    expect(element).toEqual({});
  });
});
