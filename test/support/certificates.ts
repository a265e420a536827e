// Self-signed certificates for loopback TLS tests, made at test time by Debian's openssl (spawned
// with an argument array, never a shell), so no key material is ever committed.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM text of the certificate: what a client passes as `ca` to trust it. */
  readonly pem: string;
  /** SHA-256 fingerprint as node:tls reports it (`AA:BB:...`). */
  readonly fingerprint256: string;
}

/** An EC P-256 certificate for 127.0.0.1 (CN and IP SAN), valid for two days, in `dir/<name>.{crt,key}`. */
export async function selfSignedCertificate(dir: string, name: string): Promise<TestCertificate> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2',
    '-subj', `/CN=127.0.0.1/O=actionclip-test-${name}`, '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  const pem = readFileSync(certFile, 'utf8');
  return { certFile, keyFile, pem, fingerprint256: new X509Certificate(pem).fingerprint256 };
}
