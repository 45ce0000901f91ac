/**
 * The npm packages as an app gets them: `npm pack` of @ringline/protocol, calling, callkit and
 * server, installed from the tarballs into fresh consumer apps in a temp dir (Vite + React,
 * Vite + Vue 3, plain TypeScript with a Node backend), each type-checked and built, and the packed
 * `ringline serve` serving /sdk/*.js from its installed dependencies.
 *
 * The apps' other dependencies come from the npm registry, at the versions pinned below; the npm
 * cache lives in the temp dir too, so nothing is left behind. Without the registry the test fails
 * and says so. Run it with `npm run test:packages` (outside scripts/in-netns.sh: the namespace has
 * no route to the registry).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const APPS = fileURLToPath(new URL('./apps', import.meta.url));
const PACKAGES = [
  '@ringline/protocol',
  '@ringline/calling',
  '@ringline/callkit',
  '@ringline/server',
] as const;

/** What the consumer apps install from the registry, pinned. */
const VERSIONS = {
  typescript: '5.9.3',
  vite: '8.4.1',
  react: '19.3.1',
  'react-dom': '19.3.1',
  '@types/react': '19.3.0',
  '@types/react-dom': '19.3.0',
  '@vitejs/plugin-react': '6.3.1',
  vue: '3.5.45',
  '@vitejs/plugin-vue': '6.1.1',
  'vue-tsc': '3.3.14',
  '@types/node': '20.19.43',
} as const;

const pick = (...names: (keyof typeof VERSIONS)[]) =>
  Object.fromEntries(names.map((name) => [name, VERSIONS[name]]));

interface AppSpec {
  scripts: Record<string, string>;
  /** The Ringline packages it depends on, installed from the tarballs. */
  ringline: string[];
  /** Its dependencies from the registry. */
  dependencies: object;
}

/** The consumer apps in e2e/packages/apps, and their package.json. */
const APP_SPECS = {
  react: {
    scripts: { typecheck: 'tsc --noEmit -p .', build: 'vite build' },
    ringline: ['@ringline/protocol', '@ringline/calling', '@ringline/callkit'],
    dependencies: pick(
      'react',
      'react-dom',
      '@types/react',
      '@types/react-dom',
      'typescript',
      'vite',
      '@vitejs/plugin-react',
    ),
  },
  vue: {
    scripts: { typecheck: 'vue-tsc --noEmit -p .', build: 'vite build' },
    ringline: ['@ringline/protocol', '@ringline/calling', '@ringline/callkit'],
    dependencies: pick('vue', 'typescript', 'vue-tsc', 'vite', '@vitejs/plugin-vue'),
  },
  ts: {
    scripts: { build: 'tsc -p .' },
    ringline: [...PACKAGES],
    dependencies: pick('typescript', '@types/node'),
  },
} satisfies Record<string, AppSpec>;

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

let tmp = '';
let env: NodeJS.ProcessEnv = {};
let packs: PackResult[] = [];
/** Each app's install, started together once the tarballs exist (the time goes on downloads). */
let installs = {} as Record<keyof typeof APP_SPECS, Promise<string>>;

/** Runs a command to its end (bounded by `timeoutMs`); a failure carries the output's tail. */
function run(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd, env, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const tail = (s: string) => s.slice(-4000);
        reject(
          new Error(
            `${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n` +
              `--- stdout\n${tail(stdout)}\n--- stderr\n${tail(stderr)}`,
          ),
        );
      },
    );
  });
}

const tarball = (name: string): string => {
  const pack = packs.find((p) => p.name === name);
  if (!pack) throw new Error(`${name} was not packed`);
  return `file:${join(tmp, 'tarballs', pack.filename)}`;
};

/** Copies a consumer app from e2e/packages/apps, gives it a package.json, installs it. */
async function installApp(name: string, pkg: AppSpec): Promise<string> {
  const dir = join(tmp, name);
  cpSync(join(APPS, name), dir, { recursive: true });
  const ringline = Object.fromEntries(pkg.ringline.map((n) => [n, tarball(n)]));
  const manifest = {
    name: `ringline-consumer-${name}`,
    private: true,
    type: 'module',
    scripts: pkg.scripts,
    dependencies: { ...ringline, ...pkg.dependencies },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  await run('npm', ['install', '--no-audit', '--no-fund'], dir, 600_000);
  return dir;
}

/** The built app's JavaScript, all chunks together. */
function builtScripts(dir: string): string {
  const assets = join(dir, 'dist', 'assets');
  return readdirSync(assets)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(assets, f), 'utf8'))
    .join('\n');
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ringline-packages-'));
  // The parent `npm run` passes its own npm_* settings down; the consumers get a clean npm with
  // its cache in the temp dir.
  env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  Object.assign(env, {
    npm_config_cache: join(tmp, 'npm-cache'),
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  });
  try {
    await run('npm', ['ping'], tmp, 60_000);
  } catch (error) {
    throw new Error(
      "The npm registry is unreachable, and the packages test installs the consumer apps' " +
        'dependencies from it (run it outside scripts/in-netns.sh, with network access).\n' +
        String(error),
    );
  }
  // `npm pack` runs each package's prepack script, which builds it.
  mkdirSync(join(tmp, 'tarballs'));
  const { stdout } = await run(
    'npm',
    [
      'pack',
      ...PACKAGES.flatMap((p) => ['--workspace', p]),
      '--pack-destination',
      join(tmp, 'tarballs'),
      '--json',
    ],
    REPO,
    600_000,
  );
  packs = JSON.parse(stdout.slice(stdout.indexOf('['))) as PackResult[];
  installs = Object.fromEntries(
    Object.entries(APP_SPECS).map(([name, spec]) => {
      const install = installApp(name, spec);
      // Awaited (and its failure reported) by the app's own describe block.
      install.catch(() => {});
      return [name, install];
    }),
  ) as typeof installs;
});

afterAll(async () => {
  await Promise.allSettled(Object.values(installs));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the npm tarballs', () => {
  const filesOf = (name: string) =>
    new Set(packs.find((p) => p.name === name)?.files.map((f) => f.path));

  it('hold the built ESM and type declarations of every entry point', () => {
    const entries: Record<string, string[]> = {
      '@ringline/protocol': ['dist/index', 'dist/schema'],
      '@ringline/calling': ['dist/index'],
      '@ringline/callkit': ['dist/index', 'dist/react/index', 'dist/vue/index'],
      '@ringline/server': ['dist/index', 'dist/cli'],
    };
    for (const [name, stems] of Object.entries(entries)) {
      const files = filesOf(name);
      for (const stem of stems) {
        expect(files, name).toContain(`${stem}.js`);
        expect(files, name).toContain(`${stem}.d.ts`);
      }
    }
    expect(filesOf('@ringline/server')).toContain('bin/ringline.js');
  });

  it('hold the script-tag and single-file ES module bundles', () => {
    expect(filesOf('@ringline/calling')).toContain('dist/trtc-calling.js');
    expect(filesOf('@ringline/calling')).toContain('dist/trtc-calling.mjs');
    expect(filesOf('@ringline/callkit')).toContain('dist/callkit.js');
    expect(filesOf('@ringline/callkit')).toContain('dist/callkit.mjs');
    // A CDN's URL of the bare package (unpkg, jsDelivr) serves the classic script.
    for (const [dir, name] of [
      ['calling', '@ringline/calling'],
      ['callkit', '@ringline/callkit'],
    ] as const) {
      const manifest = JSON.parse(
        readFileSync(join(REPO, 'packages', dir, 'package.json'), 'utf8'),
      ) as { unpkg: string; jsdelivr: string };
      expect(filesOf(name)).toContain(manifest.unpkg.replace(/^\.\//, ''));
      expect(manifest.jsdelivr).toBe(manifest.unpkg);
    }
  });

  it('leave out the tests', () => {
    for (const { name, files } of packs) {
      const tests = files.map((f) => f.path).filter((p) => /\.test(-support)?\.ts$/.test(p));
      expect(tests, name).toEqual([]);
    }
  });
});

describe('a Vite + React app', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await installs.react;
  });

  it('type-checks against the installed declarations', async () => {
    await run('npm', ['run', 'typecheck'], dir, 300_000);
  });

  it('builds, with the SDK and the kit in its bundle', async () => {
    await run('npm', ['run', 'build'], dir, 300_000);
    expect(existsSync(join(dir, 'dist', 'index.html'))).toBe(true);
    const js = builtScripts(dir);
    expect(js).toContain('tui-call-kit');
    expect(js).toContain('onInvited');
  });
});

describe('a Vite + Vue 3 app', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await installs.vue;
  });

  it('type-checks against the installed declarations', async () => {
    await run('npm', ['run', 'typecheck'], dir, 300_000);
  });

  it('builds, with the SDK and the kit in its bundle', async () => {
    await run('npm', ['run', 'build'], dir, 300_000);
    expect(existsSync(join(dir, 'dist', 'index.html'))).toBe(true);
    const js = builtScripts(dir);
    expect(js).toContain('tui-call-kit');
    expect(js).toContain('onInvited');
  });
});

describe('a plain TypeScript app with a Node backend', () => {
  let dir = '';
  let server: ChildProcess | undefined;

  beforeAll(async () => {
    dir = await installs.ts;
  });

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
  });

  it('compiles with every declaration checked (skipLibCheck off) and runs on Node', async () => {
    await run('npm', ['run', 'build'], dir, 300_000);
    const { stdout } = await run(process.execPath, ['dist/usersig.js'], dir, 60_000);
    expect(JSON.parse(stdout)).toEqual({ userID: 'alice' });
  });

  it('runs the packed `ringline serve`, which serves /sdk/*.js from its dependencies', async () => {
    const { stdout: help } = await run('npx', ['--no', '--', 'ringline', '--help'], dir, 60_000);
    expect(help).toMatch(/^Usage: ringline /);
    expect(help).toContain('serve [options]');

    const bin = join(dir, 'node_modules', '.bin', 'ringline');
    const data = join(tmp, 'server-data');
    const child = spawn(
      bin,
      [
        'serve',
        '--dev',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--janus',
        'off',
        '--data-dir',
        data,
      ],
      { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    server = child;
    const url = await listeningUrl(child, 60_000);

    const installed = (pkg: string, file: string) =>
      readFileSync(join(dir, 'node_modules', '@ringline', pkg, 'dist', file), 'utf8');
    for (const [file, pkg] of [
      ['trtc-calling.js', 'calling'],
      ['trtc-calling.mjs', 'calling'],
      ['callkit.js', 'callkit'],
      ['callkit.mjs', 'callkit'],
    ] as const) {
      const res = await fetch(`${url}/sdk/${file}`);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type'), file).toMatch(/^text\/javascript/);
      expect(await res.text(), file).toBe(installed(pkg, file));
    }

    // The classic script defines the global `TRTCCalling` class, as trtc-calling-js's does.
    const script = await (await fetch(`${url}/sdk/trtc-calling.js`)).text();
    const sandbox: { TRTCCalling?: { EVENT?: Record<string, string> } } = {};
    runInNewContext(script, sandbox, { timeout: 10_000 });
    expect(typeof sandbox.TRTCCalling).toBe('function');
    expect(sandbox.TRTCCalling?.EVENT?.INVITED).toBe('onInvited');
  });
});

/** Resolves with the server's URL once it prints that it listens; rejects if it exits first. */
function listeningUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no "listening" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onOut = (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (\S+)/.exec(stdout);
      if (m) done(undefined, m[1]);
    };
    const onErr = (d: Buffer) => (stderr += d.toString());
    const onExit = (code: number | null) => done(new Error(`ringline serve exited (${code})`));
    function done(error?: Error, url?: string) {
      clearTimeout(timer);
      child.stdout!.off('data', onOut);
      child.off('exit', onExit);
      if (url) resolve(url.replace(/\/$/, ''));
      else reject(new Error(`${error?.message}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
    }
    child.stdout!.on('data', onOut);
    child.stderr!.on('data', onErr);
    child.once('exit', onExit);
  });
}
