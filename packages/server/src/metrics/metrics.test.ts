/**
 * `/metrics` on a real server: Prometheus text that counts what the server did — requests by type
 * and result, invitations by outcome, calls started and ended, sessions — plus Node's process
 * metrics; two servers in one process keep their own counts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CallType } from '@ringline/protocol';
import { waitFor } from '../cluster/conformance/index.js';
import { startTestServer, type TestServer } from '../testing/server.js';

const opened: TestServer[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function start(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(options);
  opened.push(s);
  return s;
}

/** The samples of the exposition, `name{labels}` → value (labels as written). */
async function scrape(s: TestServer): Promise<Map<string, number>> {
  const res = await fetch(`${s.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return samples;
}

describe('/metrics', () => {
  it('counts requests, invitation outcomes, calls and sessions, with the process metrics', async () => {
    const s = await start();
    const alice = await s.login('alice');
    const bob = await s.login('bob');
    const carol = await s.login('carol');
    expect((await scrape(s)).get('ringline_sessions')).toBe(3);

    const { inviteID, callID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await bob.call('accept', { inviteID });
    // carol calls bob, who is busy; then someone who is offline, and cancels.
    await carol.call('invite', { userIDList: ['bob'], callType: CallType.AUDIO });
    await carol.waitForPush('lineBusy');
    const away = await carol.call('invite', { userIDList: ['dave'], callType: CallType.AUDIO });
    await carol.call('cancel', { inviteID: away.inviteID });
    // A refused request is counted with its error name.
    expect((await carol.fail('hangup', { callID })).name).toBe('NOT_CALL_MEMBER');
    await alice.call('hangup', { callID });
    await bob.waitForPush('callEnded');

    const m = await scrape(s);
    expect(m.get('ringline_requests_total{type="login",result="ok"}')).toBe(3);
    expect(m.get('ringline_requests_total{type="invite",result="ok"}')).toBe(3);
    expect(m.get('ringline_requests_total{type="hangup",result="NOT_CALL_MEMBER"}')).toBe(1);
    expect(m.get('ringline_invitees_total{outcome="answered"}')).toBe(1);
    expect(m.get('ringline_invitees_total{outcome="busy"}')).toBe(1);
    expect(m.get('ringline_invitees_total{outcome="cancelled"}')).toBe(1);
    expect(m.get('ringline_calls_started_total{media="p2p"}')).toBe(3);
    expect(m.get('ringline_calls_ended_total{media="p2p",reason="hangup"}')).toBe(1);
    expect(m.get('ringline_calls_active')).toBe(0);
    expect(m.get('ringline_call_members_count')).toBe(3);
    expect(m.get('ringline_call_answer_seconds_count')).toBe(1);
    expect(m.get('ringline_sessions')).toBe(3);
    expect(m.get('ringline_connections')).toBe(3);
    expect(m.get('ringline_edge_refusals_total{reason="connection_cap"}')).toBe(0);
    expect(m.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it('reports the webhook backlog while the receiver is down', async () => {
    // Nothing listens on port 9 (discard) on loopback here: every delivery fails and is retried.
    const s = await start({
      webhooks: [{ url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(32) }],
    });
    const alice = await s.login('alice');
    const { inviteID } = await alice.call('invite', {
      userIDList: ['bob'],
      callType: CallType.AUDIO,
    });
    await alice.call('cancel', { inviteID });
    await waitFor(
      async () => ((await scrape(s)).get('ringline_webhook_backlog') ?? 0) >= 3,
      'the invited, missed and ended events in the backlog',
    );
    await waitFor(
      async () =>
        ((await scrape(s)).get('ringline_webhook_deliveries_total{result="retried"}') ?? 0) >= 1,
      'a delivery retried',
    );
    expect((await scrape(s)).get('ringline_webhook_deliveries_total{result="delivered"}')).toBe(0);
  });

  it('keeps one server’s counts apart from another’s in the same process', async () => {
    const [a, b] = [await start(), await start()];
    await a.login('alice');
    expect((await scrape(a)).get('ringline_requests_total{type="login",result="ok"}')).toBe(1);
    expect((await scrape(b)).has('ringline_requests_total{type="login",result="ok"}')).toBe(false);
    expect((await scrape(b)).get('ringline_sessions')).toBe(0);
  });
});
