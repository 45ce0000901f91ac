// TEMPORARY debug copy of group-16 (delete after investigation)
import { MAX_CALL_MEMBERS } from '@ringline/protocol';
import { test } from 'vitest';
import { EVENT, VIDEO, enteredAll, useRingline, type SyntheticParticipant } from './harness/index.js';

const ringline = useRingline({ sfu: true });
const SYNTHETIC = MAX_CALL_MEMBERS - 1;

async function dump(p: any, viewerID: string) {
  const offers = p.pushes.filter((x: any) => x.type === 'sfuOffer');
  const last = offers[offers.length - 1];
  const vstreams = (last?.streams ?? []).filter((s: any) => s.userID === viewerID);
  const media = p.media;
  const pc = media?.subscriber;
  const out: any = {
    user: p.userID,
    offers: offers.length,
    lastStreamsCount: last?.streams.length,
    viewerStreams: vstreams,
    framesOfViewer: p.framesOf(viewerID),
    errors: p.errors.map((e: any) => String(e)),
    failure: String(media?.failure ?? ''),
    mediaStreams: media?.streams?.filter((s: any) => s.userID === viewerID),
    pcState: pc?.connectionState,
    sigState: pc?.signalingState,
  };
  if (pc) {
    const tr = pc.getTransceivers().filter((t: any) => vstreams.some((s: any) => s.mid === t.mid));
    out.transceivers = tr.map((t: any) => ({ mid: t.mid, dir: t.direction, cur: t.currentDirection, track: t.receiver.track?.kind, sink: !!t.receiver.track?.__ringlineSink }));
    const stats = await pc.getStats();
    const inb: any[] = [];
    stats.forEach((s: any) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && vstreams.some((v: any) => v.mid === s.mid)) inb.push(s);
      if (s.type === 'inbound-rtp' && s.kind === 'video' && !s.mid) inb.push({ nomid: true, ssrc: s.ssrc, packetsReceived: s.packetsReceived, framesDecoded: s.framesDecoded });
    });
    out.inbound = inb.map((s) => ({ mid: s.mid, ssrc: s.ssrc, packetsReceived: s.packetsReceived, bytes: s.bytesReceived, framesDecoded: s.framesDecoded, framesReceived: s.framesReceived, keyFramesDecoded: s.keyFramesDecoded, pli: s.pliCount, fir: s.firCount, nack: s.nackCount, w: s.frameWidth }));
    // all sdp mids of viewer in remoteDescription
    const sdp: string = pc.remoteDescription?.sdp ?? '';
    const sections = sdp.split('\nm=').slice(1);
    out.remoteSections = sections.filter((sec) => vstreams.some((v: any) => sec.includes(`a=mid:${v.mid}\r`))).map((sec) => sec.split('\r\n').filter((l) => /^(video|audio)|a=mid|a=(send|recv|inactive)|a=ssrc|a=msid/.test(l)).join(' | '));
  }
  console.log('DUMP', JSON.stringify(out));
}

test('debug g16', { timeout: 240_000 }, async () => {
  const viewer = await ringline.user('viewer');
  await viewer.page.setViewportSize({ width: 1300, height: 720 });
  const peers: SyntheticParticipant[] = [];
  for (let i = 0; i < SYNTHETIC; i += 1) peers.push(await ringline.synthetic(`s${i}`, { fps: 10 }));
  const [caller, ...others] = peers as [SyntheticParticipant, ...SyntheticParticipant[]];
  const viewerMark = await viewer.mark();
  await caller.invite({ userIDList: [...others.map((p) => p.userID), viewer.userID], callType: VIDEO, timeout: 120 });
  for (let i = 0; i < others.length; i += 4) await Promise.all(others.slice(i, i + 4).map((p) => p.accept()));
  await viewer.waitForEvent(EVENT.INVITED, (p) => p.sponsor === caller.userID, { after: viewerMark });
  await viewer.showRemotes(150, 112);
  const tAccept = Date.now();
  await viewer.sdk.accept();
  await enteredAll(viewer, peers, viewerMark, 30_000);
  console.log('entered all after', Date.now() - tAccept);
  const watch = [caller, others[others.length - 1]!, others[5]!];
  for (let k = 0; k < 8; k += 1) {
    for (const p of watch) await dump(p, viewer.userID);
    await new Promise((r) => setTimeout(r, 5000));
  }
  for (const p of peers) console.log('frames', p.userID, p.framesOf(viewer.userID), p.errors.map(String));
});
