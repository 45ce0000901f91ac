// Network namespaces for the simulated internet (plain JS so bench/network.mjs shares it).
//
// Each namespace is held by one child process made with `unshare -n` (no /run/netns name), so two
// runs can never collide, and the namespace disappears with its last process: when the holder is
// killed, or when this process dies (the holder reads its stdin pipe and exits on EOF). Commands
// run inside with `nsenter -t PID -n`.
import { execFile, spawn } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';

/** Longest one `ip`/`nft`/`sysctl` command may take before it counts as hung. */
const COMMAND_TIMEOUT_MS = 10_000;

/** A command inside a namespace failed; the message names the command and its stderr. */
export class NetnsError extends Error {
  /**
   * @param {string} namespace
   * @param {string[]} command
   * @param {string} detail
   */
  constructor(namespace, command, detail) {
    super(`[${namespace}] ${command.join(' ')} failed: ${detail.trim()}`);
    this.name = 'NetnsError';
  }
}

/**
 * Runs `command` (in this process's namespace) and resolves with its stdout; rejects with
 * NetnsError naming `where` on a non-zero exit or after COMMAND_TIMEOUT_MS.
 * @param {string} where
 * @param {string[]} command
 * @param {string} [input] written to the command's stdin (e.g. an nft script)
 * @returns {Promise<string>}
 */
export function runCommand(where, command, input) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command[0],
      command.slice(1),
      { timeout: COMMAND_TIMEOUT_MS, env: { ...process.env, PATH: withSbin(process.env.PATH) } },
      (error, stdout, stderr) => {
        if (error) reject(new NetnsError(where, command, stderr || error.message));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** `ip`, `nft` and `sysctl` live in /usr/sbin, which a non-login PATH may lack. */
function withSbin(path = '') {
  return [path, '/usr/sbin', '/sbin'].filter(Boolean).join(':');
}

/** The inode link of a process's network namespace, e.g. `net:[4026532201]`. */
function netnsOf(pid) {
  return readlinkSync(`/proc/${pid}/ns/net`);
}

/** One network namespace, alive as long as its holder process. */
export class Namespace {
  /** @type {boolean} */
  #closed = false;

  /**
   * @param {string} name a label for messages
   * @param {import('node:child_process').ChildProcess} holder
   */
  constructor(name, holder) {
    /** A label for messages and logs. */
    this.name = name;
    this.holder = holder;
    /** The holder's pid: `nsenter -t pid -n` enters the namespace. */
    this.pid = /** @type {number} */ (holder.pid);
  }

  /**
   * Makes a new, empty namespace (loopback up) named `name` for messages.
   * @param {string} name
   * @returns {Promise<Namespace>}
   */
  static async create(name) {
    const own = netnsOf(process.pid);
    // unshare execs cat in the new namespace (same pid); cat exits when our end of stdin closes.
    const holder = spawn('unshare', ['-n', '--', 'cat'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    holder.stderr?.on('data', (d) => (stderr += String(d)));
    const ns = new Namespace(name, holder);
    try {
      // unshare() happens right after the fork: wait (bounded) until the pid is in a new namespace.
      const deadline = Date.now() + 5_000;
      for (;;) {
        if (holder.exitCode !== null || holder.signalCode !== null) {
          throw new Error(`unshare -n exited: ${stderr.trim() || holder.exitCode}`);
        }
        let current = own;
        try {
          current = netnsOf(ns.pid);
        } catch {
          // The process is not there yet.
        }
        if (current !== own) break;
        if (Date.now() > deadline) throw new Error(`namespace ${name} did not appear within 5 s`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // IPv4 only: otherwise each veth's IPv6 link-local address finishes duplicate-address
      // detection a second or two after the link comes up, and a Chromium started meanwhile sees
      // a network change and fails its first navigation with ERR_NETWORK_CHANGED.
      await ns.sysctl('net.ipv6.conf.all.disable_ipv6', 1);
      await ns.sysctl('net.ipv6.conf.default.disable_ipv6', 1);
      await ns.run(['ip', 'link', 'set', 'lo', 'up']);
      return ns;
    } catch (error) {
      await ns.close();
      throw error;
    }
  }

  /** The namespace as `ip … netns` accepts it. */
  get ref() {
    return String(this.pid);
  }

  /**
   * Runs `command` inside the namespace; resolves with stdout.
   * @param {string[]} command
   * @param {string} [input]
   */
  run(command, input) {
    if (this.#closed) return Promise.reject(new Error(`namespace ${this.name} is closed`));
    return runCommand(this.name, this.wrap(command), input);
  }

  /**
   * `command` prefixed so that it runs inside this namespace (for spawn).
   * @param {string[]} command
   * @returns {string[]}
   */
  wrap(command) {
    return ['nsenter', '-t', this.ref, '-n', '--', ...command];
  }

  /**
   * Applies an nftables script inside the namespace.
   * @param {string} script
   */
  nft(script) {
    return this.run(['nft', '-f', '-'], script);
  }

  /**
   * Sets a sysctl inside the namespace (/proc/sys/net is per namespace).
   * @param {string} key e.g. net.ipv4.ip_forward
   * @param {string | number} value
   */
  sysctl(key, value) {
    return this.run(['sysctl', '-qw', `${key}=${value}`]);
  }

  /**
   * Kills every process still inside the namespace (all of them were started by this run: a
   * server's Janus or coturn orphaned by a crash, a Chromium), then the holder. Idempotent.
   */
  async close() {
    this.#closed = true;
    const holder = this.holder;
    if (holder.exitCode !== null || holder.signalCode !== null) return;
    this.#killInside();
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
  }

  /** SIGKILL to every process (but the holder) whose network namespace is this one. */
  #killInside() {
    let target;
    try {
      target = netnsOf(this.pid);
    } catch {
      return;
    }
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === this.pid || pid === process.pid) continue;
      try {
        if (readlinkSync(`/proc/${pid}/ns/net`) === target) process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already, or not ours to read.
      }
    }
  }
}
