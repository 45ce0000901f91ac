/**
 * `ringline serve --config FILE` (or RINGLINE_CONFIG): YAML or JSON whose keys are the long flag
 * names. Flags beat RINGLINE_* variables, which beat the file, which beats the defaults; every
 * error names where the bad value came from, and never shows a secret.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseServeArgs } from './config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Writes `text` to a new temporary file called `name`; returns its path. */
function configFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-config-file-'));
  dirs.push(dir);
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError that parseServeArgs throws (fails the test if it does not). */
function refusal(args: string[], env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseServeArgs(args, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`parseServeArgs(${JSON.stringify(args)}) did not refuse`);
}

const SECRET = 'a-webhook-secret-of-32-characters';

const YAML = `# ringline.yaml
port: 9000
multi-device: ring-all
invite-timeout: 40
p2p: false
dev: true
janus: [ws://a:8188, ws://b:8188]
ice-servers:
  - urls: stun:stun.example.org:3478
webhook:
  - https://one.example/hook
  - https://two.example/hook
webhook-secret: ${SECRET}
drain-timeout: 5
`;

describe('a config file', () => {
  it('is read as YAML, below RINGLINE_* variables and flags, above the defaults', () => {
    const path = configFile('ringline.yaml', YAML);
    const fromFile = parseServeArgs(['--config', path], {});
    expect(fromFile).toMatchObject({
      port: 9000,
      multiDevice: 'ring-all',
      inviteTimeout: 40,
      p2p: false,
      dev: true,
      host: '127.0.0.1',
      janus: 'ws://a:8188,ws://b:8188',
      iceServers: [{ urls: 'stun:stun.example.org:3478' }],
      webhooks: [
        { url: 'https://one.example/hook', secret: SECRET },
        { url: 'https://two.example/hook', secret: SECRET },
      ],
      drainTimeoutMs: 5000,
      maxRingTime: 60,
    });

    const env = { RINGLINE_PORT: '9100', RINGLINE_WEBHOOK: 'https://env.example/hook' };
    const overEnv = parseServeArgs(['--config', path], env);
    expect(overEnv.port).toBe(9100);
    expect(overEnv.webhooks).toEqual([{ url: 'https://env.example/hook', secret: SECRET }]);
    expect(overEnv.multiDevice).toBe('ring-all');

    const overFlags = parseServeArgs(
      ['--config', path, '--port', '9200', '--webhook', 'https://flag.example/a'],
      env,
    );
    expect(overFlags.port).toBe(9200);
    expect(overFlags.webhooks).toEqual([{ url: 'https://flag.example/a', secret: SECRET }]);
    expect(parseServeArgs(['--config', path], { RINGLINE_DEV: 'false' }).dev).toBe(false);
  });

  it('is read as JSON by its extension or its content, and named by RINGLINE_CONFIG', () => {
    const settings = {
      port: 7000,
      'multi-device': 'ring-all',
      webhook: ['https://one.example/hook'],
      'webhook-secret': SECRET,
      'trust-proxy': ['10.0.0.0/8', '127.0.0.1'],
    };
    for (const name of ['ringline.json', 'ringline.conf']) {
      const path = configFile(name, JSON.stringify(settings, null, 2));
      expect(parseServeArgs([], { RINGLINE_CONFIG: path })).toMatchObject({
        port: 7000,
        multiDevice: 'ring-all',
        webhooks: [{ url: 'https://one.example/hook', secret: SECRET }],
        trustProxy: ['10.0.0.0/8', '127.0.0.1'],
      });
    }
    // --config beats RINGLINE_CONFIG like any flag its variable.
    const flagged = configFile('flag.yaml', 'port: 7100\n');
    const named = configFile('env.yaml', 'port: 7200\n');
    expect(parseServeArgs(['--config', flagged], { RINGLINE_CONFIG: named }).port).toBe(7100);
  });

  it('in docs/deployment.md is one the server takes', () => {
    const doc = readFileSync(new URL('../../../docs/deployment.md', import.meta.url), 'utf8');
    const example = /## Configuration file\n[^]*?```yaml\n([^]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const config = parseServeArgs(['--config', configFile('ringline.yaml', example!)], {});
    expect(config).toMatchObject({ port: 443, multiDevice: 'ring-all', drainTimeoutMs: 30_000 });
    expect(config.webhooks).toHaveLength(1);
  });

  it('may be empty', () => {
    expect(parseServeArgs(['--config', configFile('empty.yaml', '# nothing yet\n')], {}).port).toBe(
      8080,
    );
  });
});

describe('a bad setting', () => {
  it('from the file names the file, the key and the allowed values', () => {
    const path = configFile('ringline.yaml', 'multi-device: x\n');
    expect(refusal(['--config', path]).message).toBe(
      `${path}: multi-device: must be kick or ring-all, got "x"`,
    );
    const ports = configFile('ports.yaml', 'port: 70000\n');
    expect(refusal(['--config', ports]).message).toBe(
      `${ports}: port: must be an integer from 0 to 65535, got "70000"`,
    );
    const ice = configFile('ice.yaml', 'ice-servers:\n  - urls: http://nope\n');
    expect(refusal(['--config', ice]).message).toMatch(
      `${ice}: ice-servers: [0].urls: "http://nope" is not a stun:`,
    );
  });

  it('from the environment names the variable, from a flag the flag', () => {
    const path = configFile('ringline.yaml', 'port: 9000\nlog-level: info\n');
    expect(refusal(['--config', path], { RINGLINE_PORT: 'eighty' }).message).toBe(
      'RINGLINE_PORT must be an integer from 0 to 65535, got "eighty"',
    );
    expect(refusal(['--config', path], { RINGLINE_LOG_LEVEL: 'loud' }).message).toMatch(
      /^RINGLINE_LOG_LEVEL: "loud" is not one of/,
    );
    expect(refusal(['--config', path, '--port', '-1']).message).toMatch(/^--port must be/);
    expect(refusal([], { RINGLINE_DRAIN_TIMEOUT: '3601' }).message).toBe(
      'RINGLINE_DRAIN_TIMEOUT must be an integer from 0 to 3600, got "3601"',
    );
  });

  it('that needs another names both where they are', () => {
    const path = configFile('ringline.yaml', 'webhook: https://one.example/hook\n');
    expect(refusal(['--config', path]).message).toBe(
      `${path}: webhook: needs --webhook-secret (deliveries are signed with it)`,
    );
    const tls = configFile('tls.yaml', 'tls-cert: /etc/ringline/cert.pem\n');
    expect(refusal(['--config', tls]).message).toMatch(`${tls}: tls-cert: needs --tls-key too`);
  });

  it('under an unknown key is refused with the flag it resembles', () => {
    for (const [key, like] of [
      ['prot', 'port'],
      ['multi_device', 'multi-device'],
      ['webhookSecret', 'webhook-secret'],
    ]) {
      const path = configFile('ringline.yaml', `${key}: 1\n`);
      expect(refusal(['--config', path]).message).toBe(
        `${path}: unknown key "${key}" (did you mean ${like}?)`,
      );
    }
    const path = configFile('ringline.yaml', 'colour: blue\n');
    expect(refusal(['--config', path]).message).toMatch(`${path}: unknown key "colour" (the keys`);
  });

  it('of the wrong type is refused, naming the type wanted', () => {
    for (const [text, message] of [
      ['port: [1, 2]', 'port: must be an integer, got a list'],
      ['dev: "yes"', 'dev: must be true or false, got a string'],
      ['host: 8080', 'host: must be a string (quote it), got a number'],
      ['webhook: {url: x}', 'webhook: must be a string or a list of strings, got a mapping'],
      ['janus:', 'janus: must be a string or a list of strings, got no value'],
      ['- port', 'must be a mapping of settings such as "port: 8080", got a list'],
    ]) {
      const path = configFile('ringline.yaml', `${text}\n`);
      expect(refusal(['--config', path]).message, text).toBe(`${path}: ${message}`);
    }
  });

  it('never shows a secret, even in a syntax error', () => {
    for (const [name, text] of [
      ['a.yaml', 'secret-key: 12345678901234567890\n'],
      ['b.yaml', 'database: mysql://ringline:hunter2@db/x\n'],
      ['c.yaml', 'redis: "redis://u:hunter2@bad host"\n'],
      ['d.yaml', 'port: 1\nsecret-key: "hunter2\n'],
      ['e.json', '{"secret-key": hunter2}'],
    ] as const) {
      const path = configFile(name, text);
      const { message } = refusal(['--config', path]);
      expect(message, text).toContain(path);
      expect(message, text).not.toMatch(/hunter2|12345678901234567890/);
    }
  });

  it('that cannot be read names the flag or variable that named it', () => {
    expect(refusal(['--config', '/nonexistent/ringline.yaml']).message).toBe(
      '--config: cannot read /nonexistent/ringline.yaml (ENOENT)',
    );
    expect(refusal([], { RINGLINE_CONFIG: '/nonexistent/ringline.yaml' }).message).toBe(
      'RINGLINE_CONFIG: cannot read /nonexistent/ringline.yaml (ENOENT)',
    );
  });
});
