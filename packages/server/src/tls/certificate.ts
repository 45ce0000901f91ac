/**
 * The server's TLS certificate and key: read from PEM files at start and again on reload (SIGHUP),
 * checked before use so that a bad file is a clear ConfigError, never a half-working listener.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext as tlsContext } from 'node:tls';
import { ConfigError } from '../config.js';

/** Where the certificate (chain) and its private key are, as PEM files. */
export interface TlsFiles {
  /** The certificate, optionally followed by its chain (certbot's fullchain.pem). */
  certFile: string;
  /** The unencrypted private key of the first certificate (certbot's privkey.pem). */
  keyFile: string;
}

/** A certificate and key read from disk and checked to belong together. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** What to log about the certificate: no secrets. */
  summary: {
    subject: string;
    subjectAltName: string | undefined;
    validTo: string;
    fingerprint256: string;
  };
  /** True when the certificate has already expired (browsers will refuse it). */
  expired: boolean;
}

/** Checks `tls` option shapes: both files or neither. Throws ConfigError. */
export function checkTlsFiles(tls: unknown): TlsFiles | undefined {
  if (tls === undefined) return undefined;
  const { certFile, keyFile } = (tls ?? {}) as Partial<Record<keyof TlsFiles, unknown>>;
  const given = (v: unknown) => typeof v === 'string' && v !== '';
  if (!given(certFile) || !given(keyFile)) {
    throw new ConfigError(
      'TLS needs both a certificate and a key file (--tls-cert FILE --tls-key FILE), or neither',
    );
  }
  return { certFile: certFile as string, keyFile: keyFile as string };
}

/** Reads and checks the PEM files. Throws ConfigError saying which file is wrong and how. */
export async function loadTls(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (what: string, file: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw new ConfigError(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  // One after the other: when both are missing, the error names the certificate, every time.
  const cert = await read('certificate', files.certFile);
  const key = await read('key', files.keyFile);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(
      `the TLS certificate ${files.certFile} is not a PEM certificate: ${(err as Error).message}`,
    );
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new ConfigError(
      `the TLS key ${files.keyFile} is not an unencrypted PEM private key: ${(err as Error).message}`,
    );
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw new ConfigError(
      `the TLS key ${files.keyFile} does not belong to the certificate ${files.certFile}`,
    );
  }
  // What the listener will do with them: catches a broken chain after the first certificate.
  try {
    tlsContext({ cert, key });
  } catch (err) {
    throw new ConfigError(
      `the TLS certificate ${files.certFile} and key ${files.keyFile} are not usable: ` +
        (err as Error).message,
    );
  }
  return {
    cert,
    key,
    summary: {
      subject: x509.subject,
      subjectAltName: x509.subjectAltName,
      validTo: x509.validTo,
      fingerprint256: x509.fingerprint256,
    },
    expired: Date.parse(x509.validTo) < Date.now(),
  };
}
