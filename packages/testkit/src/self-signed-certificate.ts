import { randomUUID } from 'node:crypto';
import { generate } from 'selfsigned';

/** A PEM certificate and its private key. */
export interface CertificatePair {
  /** The certificate, PEM. Self-signed, so it is also the CA clients must trust. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
}

/**
 * Generates a self-signed server certificate for loopback use (SAN DNS:localhost, IP:127.0.0.1, IP:::1),
 * valid for one day, with an ECDSA P-256 key. Uses `selfsigned` (Node's own crypto underneath, no network).
 * Each certificate has a subject of its own: with equal subjects, a client trusting two of them checks
 * one host's certificate against the other's key and fails.
 */
export async function generateLoopbackCertificate(): Promise<CertificatePair> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const subject = [
    { name: 'commonName', value: 'localhost' },
    { name: 'organizationName', value: `phlow testkit ${randomUUID()}` },
  ];
  const pems = await generate(subject, {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
