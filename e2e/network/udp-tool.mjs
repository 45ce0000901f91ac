// A UDP echo and a UDP probe, run inside the namespaces of the simulated internet to check that its
// NATs behave as named (e2e/network/topology.e2e.ts). Output is one JSON line.
//
//   node udp-tool.mjs echo PORT...
//     Answers every datagram on each PORT with {"mapped":"ip:port"} (the sender as seen here). A
//     datagram "poke" is also answered from PORT+100, a port the sender never contacted (an
//     unsolicited packet a NAT must drop). Prints {"ready":true} once bound.
//
//   node udp-tool.mjs probe --to IP:PORT[,IP:PORT…] [--count N] [--gap MS] [--wait MS]
//                           [--message M] [--port LOCAL]
//     From ONE local socket (LOCAL, default any) sends M (default "probe") N times to each destination, then listens
//     WAIT ms and prints {"local":port,"replies":[{"from":"ip:port","mapped":…}]} (every reply,
//     deduplicated by sender, with a count).
import dgram from 'node:dgram';
import { parseArgs } from 'node:util';

const [mode, ...rest] = process.argv.slice(2);

if (mode === 'echo') {
  const ports = rest.map(Number);
  let ready = 0;
  for (const port of ports) {
    const socket = dgram.createSocket('udp4');
    const side = dgram.createSocket('udp4');
    socket.on('message', (msg, from) => {
      const mapped = `${from.address}:${from.port}`;
      const reply = JSON.stringify({ mapped });
      socket.send(reply, from.port, from.address);
      if (String(msg) === 'poke')
        side.send(JSON.stringify({ mapped, poke: true }), from.port, from.address);
    });
    const bound = () => {
      ready += 1;
      if (ready === ports.length * 2) console.log(JSON.stringify({ ready: true }));
    };
    socket.bind(port, bound);
    side.bind(port + 100, bound);
  }
} else if (mode === 'probe') {
  const { values } = parseArgs({
    args: rest,
    options: {
      to: { type: 'string' },
      count: { type: 'string', default: '3' },
      wait: { type: 'string', default: '500' },
      message: { type: 'string', default: 'probe' },
      gap: { type: 'string', default: '5' },
      port: { type: 'string', default: '0' },
    },
  });
  const destinations = (values.to ?? '')
    .split(',')
    .filter(Boolean)
    .map((d) => {
      const [address, port] = d.split(':');
      return { address, port: Number(port) };
    });
  const socket = dgram.createSocket('udp4');
  /** @type {Map<string, {from: string, mapped: string | undefined, poke: boolean, count: number}>} */
  const replies = new Map();
  socket.on('message', (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let body = {};
    try {
      body = JSON.parse(String(msg));
    } catch {
      // Not from our echo: still a packet that got in.
    }
    const seen = replies.get(key) ?? {
      from: key,
      mapped: body.mapped,
      poke: !!body.poke,
      count: 0,
    };
    seen.count += 1;
    replies.set(key, seen);
  });
  socket.on('error', () => {});
  socket.bind(Number(values.port), async () => {
    const count = Number(values.count);
    const gap = Number(values.gap);
    for (let i = 0; i < count; i++) {
      for (const d of destinations) socket.send(values.message, d.port, d.address);
      await new Promise((r) => setTimeout(r, gap));
    }
    setTimeout(() => {
      console.log(JSON.stringify({ local: socket.address().port, replies: [...replies.values()] }));
      socket.close();
    }, Number(values.wait));
  });
} else {
  console.error('usage: udp-tool.mjs echo PORT... | probe --to IP:PORT[,…]');
  process.exit(2);
}
