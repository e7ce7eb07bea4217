import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** A self-signed certificate for 127.0.0.1 made by the real openssl. */
function selfSigned(dir: string, name: string): { key: string; cert: string; certFile: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.pem`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}

/** Runs a guarded fetch in a fresh Node process (NODE_EXTRA_CA_CERTS is read at process start). */
function fetchInChild(url: string, ca: string, env: NodeJS.ProcessEnv): Promise<string> {
  const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));
  const script = `
    const { createGuardedFetch } = await import(${JSON.stringify(entry)});
    const guarded = createGuardedFetch({ allowPrivateAddresses: ['127.0.0.1'], ca: ${JSON.stringify(ca)} });
    const outcome = await guarded(${JSON.stringify(url)}).then((r) => r.text(), (e) => 'failed: ' + (e.cause?.code ?? e.code ?? e.message));
    console.log(outcome);
    await guarded.close();`;
  return new Promise((resolve, reject) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { env }, (error, out, err) =>
      error ? reject(new Error(err || String(error))) : resolve(out.trim()),
    ),
  );
}

describe('ca adds to the certificates the process trusts', () => {
  let dir: string;
  let server: Server;
  let url: string;
  let host: ReturnType<typeof selfSigned>;
  let other: ReturnType<typeof selfSigned>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'phlow-extra-ca-'));
    host = selfSigned(dir, 'trusted-through-env');
    other = selfSigned(dir, 'given-as-ca');
    server = createServer({ key: host.key, cert: host.cert }, (_, res) => res.end('trusted'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps NODE_EXTRA_CA_CERTS when ca names another certificate', async () => {
    expect(await fetchInChild(url, other.cert, { ...process.env, NODE_EXTRA_CA_CERTS: host.certFile })).toBe('trusted');
  });

  it('still refuses a certificate trusted by neither (control)', async () => {
    const env = { ...process.env };
    delete env['NODE_EXTRA_CA_CERTS'];
    expect(await fetchInChild(url, other.cert, env)).toMatch(/^failed: /);
  });
});
