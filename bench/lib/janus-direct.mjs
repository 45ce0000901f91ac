// The group benchmark's baseline: the same publish/subscribe as a Ringline group call, made
// straight against Janus VideoRoom with janode from the bench process — no Ringline server, no
// signalling, no call logic. One room; each participant one publisher handle and one multistream
// subscriber handle carrying every other participant's audio + video.
import Janode from 'janode';
import VideoRoomPlugin from 'janode/plugins/videoroom';
import { randomBytes } from 'node:crypto';

/**
 * Connects to Janus at `url` and creates a room for up to `publishers` publishers (VP8 + Opus,
 * like the server's rooms). Returns helpers to publish and subscribe in it, and `close()`.
 * @param {string} url
 * @param {{publishers?: number}} [options]
 */
export async function openDirectRoom(url, { publishers = 16 } = {}) {
  const connection = await Janode.connect({ address: { url }, retry_time_secs: 1, max_retries: 3 });
  connection.on('error', () => undefined);
  const session = await connection.create();
  const admin = await session.attach(VideoRoomPlugin);
  const secret = randomBytes(12).toString('hex');
  const { room } = await admin.create({
    max_publishers: publishers,
    secret,
    audiocodec: 'opus',
    videocodec: 'vp8',
  });
  const handles = [admin];

  async function attach() {
    const handle = await session.attach(VideoRoomPlugin);
    handles.push(handle);
    return handle;
  }

  return {
    room,
    /**
     * Publishes `offer` (from a SyntheticMedia or a page) as `userID`; resolves with Janus's answer
     * and the feed id. `trickleTo(handle)` gives the candidate sink for the publisher connection.
     * @param {string} userID
     * @param {(handle: any) => Promise<{type: 'offer', sdp: string}>} makeOffer
     */
    async publish(userID, makeOffer) {
      const handle = await attach();
      const offer = await makeOffer(handle);
      const joined = await handle.joinConfigurePublisher({
        room,
        display: userID,
        audio: true,
        video: true,
        jsep: offer,
      });
      return { feed: joined.feed, answer: joined.jsep, handle };
    },
    /**
     * A multistream subscriber carrying `feeds`' streams. Resolves with Janus's offer, the streams
     * it carries as `{mid, userID, kind}`, and `start(answer)`.
     * @param {{feed: number | string}[]} feeds
     */
    async subscribe(feeds) {
      const handle = await attach();
      const joined = await handle.joinSubscriber({
        room,
        streams: feeds.map(({ feed }) => ({ feed })),
      });
      const streams = (joined.streams ?? [])
        .filter((s) => s.type === 'audio' || s.type === 'video')
        .map((s) => ({ mid: String(s.mid), userID: s.feed_display, kind: s.type }));
      return {
        handle,
        offer: joined.jsep,
        streams,
        start: (answer) => handle.start({ jsep: answer }),
      };
    },
    /** Destroys the room and closes the session and connection; never throws. */
    async close() {
      await admin.destroy({ room, secret }).catch(() => undefined);
      for (const h of handles.reverse()) await h.detach().catch(() => undefined);
      await session.destroy().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

/** Candidate sink for a janode handle (undefined = gathering done); errors are ignored. */
export function trickleTo(handle) {
  return (candidate) => {
    const sent = candidate ? handle.trickle(candidate) : handle.trickleComplete();
    sent.catch(() => undefined);
  };
}
