// A private Janus for the group benchmark's baseline (publish/subscribe made straight against
// Janus, without the Ringline server): the Debian package's binary with a throw-away config dir,
// only the VideoRoom plugin and the WebSocket transport (on 127.0.0.1, a free port), ICE limited to
// the test namespace's veth. Mirrors what the server's `--janus auto` does, but owned by the bench
// so that the baseline does not depend on the code it is compared against.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';

export const JANUS_BINARY = '/usr/bin/janus';
const JANUS_LIB = '/usr/lib/x86_64-linux-gnu/janus';

/** A free TCP port on 127.0.0.1 (closed again; Janus binds it a moment later). */
async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Every `.so` in `folder` except the ones in `keep`, as Janus's `disable` list. */
function disableList(folder, keep) {
  if (!existsSync(folder)) return '';
  return readdirSync(folder)
    .filter((f) => f.endsWith('.so') && !keep.has(f))
    .join(',');
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts Janus with its config in `dir`. Resolves with `{url, pid, close()}` once its WebSocket port
 * accepts connections; rejects (and kills it) if it exits first or takes over `timeoutMs`.
 * `plugins`: the Janus plugins to load (`videoroom` for the group baseline, `videocall` for the
 * 1:1 one); every other plugin, transport, event handler and logger is disabled.
 * @param {{dir: string, iceInterface?: string, timeoutMs?: number, plugins?: string[]}} options
 */
export async function startJanus({
  dir,
  iceInterface,
  timeoutMs = 15_000,
  plugins = ['videoroom'],
}) {
  const enabled = new Set([...plugins.map((p) => `libjanus_${p}.so`), 'libjanus_websockets.so']);
  if (!existsSync(JANUS_BINARY)) {
    throw new Error(`${JANUS_BINARY} not found: apt-get install janus`);
  }
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  await writeFile(
    join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${JANUS_LIB}/plugins"
  transports_folder = "${JANUS_LIB}/transports"
  events_folder = "${JANUS_LIB}/events"
  loggers_folder = "${JANUS_LIB}/loggers"
  debug_level = 3
}
media: {
  rtp_port_range = "30000-39999"
}
nat: {
  ${iceInterface ? `ice_enforce_list = "${iceInterface}"` : ''}
}
plugins: {
  disable = "${disableList(`${JANUS_LIB}/plugins`, enabled)}"
}
transports: {
  disable = "${disableList(`${JANUS_LIB}/transports`, enabled)}"
}
events: {
  broadcast = false
  disable = "${disableList(`${JANUS_LIB}/events`, enabled)}"
}
loggers: {
  disable = "${disableList(`${JANUS_LIB}/loggers`, enabled)}"
}
`,
  );
  await writeFile(
    join(dir, 'janus.transport.websockets.jcfg'),
    `general: {
  json = "compact"
  ws = true
  ws_port = ${port}
  ws_ip = "127.0.0.1"
  wss = false
}
admin: {
  admin_ws = false
  admin_wss = false
}
`,
  );
  for (const plugin of plugins) {
    await writeFile(join(dir, `janus.plugin.${plugin}.jcfg`), 'general: {\n}\n');
  }

  const child = spawn(JANUS_BINARY, ['-C', join(dir, 'janus.jcfg'), '-F', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let exitInfo;
  // A bench that dies (an uncaught error, exit()) takes its Janus with it, or it runs on orphaned.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then((info) => {
    exitInfo = info;
    process.off('exit', killOnExit);
  });

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitInfo) {
      throw new Error(
        `janus exited (${JSON.stringify(exitInfo)}) before listening:\n${output.join('').slice(-2000)}`,
      );
    }
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`janus did not listen on ${port} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  let closing;
  return {
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid,
    output,
    close() {
      closing ??= (async () => {
        if (exitInfo) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      })();
      return closing;
    },
  };
}
