// The baseline for bench:signal: the least a WebSocket server can do to route a message to a user
// ID. A client says who it is ({type:'hello', userID}) and is told {type:'ready'}; a
// {type:'relay', to, data} frame goes to `to` as {type:'relay', from, data}. No auth, no
// validation, no replies, no state beyond the user → socket map: a floor, not a product.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

/** Starts the relay on `host:port` (0 = any free port); resolves to {port, close}. */
export async function startRelay({ host = '127.0.0.1', port = 0 } = {}) {
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  const users = new Map();
  wss.on('connection', (ws) => {
    let me;
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.type === 'hello') {
        me = msg.userID;
        users.set(me, ws);
        ws.send('{"type":"ready"}');
      } else if (msg.type === 'relay') {
        users.get(msg.to)?.send(JSON.stringify({ type: 'relay', from: me, data: msg.data }));
      }
    });
    ws.on('close', () => {
      if (me !== undefined && users.get(me) === ws) users.delete(me);
    });
    ws.on('error', () => {});
  });
  await new Promise((resolve) => http.listen(port, host, resolve));
  return {
    port: http.address().port,
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => http.close(() => resolve()));
      }),
  };
}
