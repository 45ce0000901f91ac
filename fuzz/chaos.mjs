// Connection-level abuse, below frames: each runs on a socket of its own against the server at
// `url`. `upgrade-other-path-reset` is issue 10 #2 (an upgrade to a path other than the signalling
// one, then a TCP reset, crashed the process through a socket with no error listener).
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Wire } from './wire.mjs';

export const CHAOS = ['upgrade-other-path-reset', 'reset-mid-frame', 'reset-after-frames'];
/** The ones that crashed the server before issue 10 (left out with FUZZ_SKIP_KNOWN=1). */
export const KNOWN_CRASH_CHAOS = new Set(['upgrade-other-path-reset']);

/**
 * Runs `action` against `url`; `frames` supplies frames for `reset-after-frames`. Resolves when
 * the socket is gone.
 */
export async function runChaos(action, url, frames = () => '{"id":1,"type":"ping"}') {
  if (action === 'upgrade-other-path-reset') {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => {
      const timer = setTimeout(() => (socket.destroy(), resolve()), 2000);
      socket.once('connect', () => {
        socket.write(
          'GET /not-signalling HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
            'Sec-WebSocket-Version: 13\r\n\r\n',
        );
      });
      // Reset once the server has answered (and ended its side).
      socket.once('data', () => socket.resetAndDestroy());
      socket.once('close', () => (clearTimeout(timer), resolve()));
    });
    return;
  }
  const wire = await Wire.open(url);
  if (action === 'reset-mid-frame') {
    // A masked text frame header promising 1,000 bytes, then 10 of them, then a reset.
    const head = Buffer.from([0x81, 0xfe, 0x03, 0xe8, 1, 2, 3, 4]);
    wire.ws._socket.write(Buffer.concat([head, Buffer.alloc(10, 0x41)]));
  } else {
    for (let i = 0; i < 8; i++) wire.send(frames());
  }
  wire.drop(true);
  await wire.closed;
}
