import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A self-signed test certificate on disk, and what a test browser needs to trust it. */
export interface TestCertificate {
  /** PEM files: pass to `--tls-cert` / `--tls-key`. */
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
  /**
   * base64 SHA-256 of the certificate's SubjectPublicKeyInfo: Chromium trusts the certificate when
   * started with `--ignore-certificate-errors-spki-list=<spki>`.
   */
  spki: string;
  /** Removes the files. Idempotent. */
  remove(): void;
}

/**
 * Makes a short-lived self-signed P-256 certificate for `names` (IP addresses or DNS names) with
 * openssl, in a fresh temporary folder.
 */
export function makeTestCertificate(names: string[]): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'ringline-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  const san = names
    .map((name) => (/^[\d.]+$|:/.test(name) ? `IP:${name}` : `DNS:${name}`))
    .join(',');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=ringline-test',
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const cert = readFileSync(certFile, 'utf8');
  const key = readFileSync(keyFile, 'utf8');
  return {
    certFile,
    keyFile,
    cert,
    key,
    spki: spkiHash(cert),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo. */
export function spkiHash(pem: string): string {
  const der = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}
