/**
 * Test helper: a throwaway CA, an etcd server certificate for 127.0.0.1 and a client certificate,
 * made with the `openssl` CLI in a private temp dir (delete it with `cleanup()`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdTlsFiles } from './etcd.js';

export interface TestPki extends EtcdTlsFiles {
  dir: string;
  cleanup(): void;
}

function openssl(cwd: string, ...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: 30_000 });
  if (r.error) {
    throw new Error(`cannot run openssl (${r.error.message}); the TLS test needs it: sudo apt-get install -y openssl`);
  }
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'arenacache-pki-'));
  chmodSync(dir, 0o700);
  try {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl(dir, 'req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=arenacache-test-ca');
    const leaf = (name: string, cn: string, ext: string) => {
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl(dir, 'req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`);
    };
    leaf('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
    leaf('client', 'arenacache-node', 'extendedKeyUsage=clientAuth\n');
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
