/**
 * Test PKI made with the openssl CLI in a temp dir: a CA, a node certificate for 127.0.0.1 (server
 * and client auth), and a certificate from an unrelated CA.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Signed by another CA: peers must refuse it. */
  rogueCertFile: string;
  rogueKeyFile: string;
  cleanup(): void;
}

function ossl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

function makeCa(dir: string, name: string): void {
  ossl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`],
    dir,
  );
}

function makeLeaf(dir: string, ca: string, name: string): void {
  ossl(
    ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
    dir,
  );
  ossl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial',
      '-days', '1', '-out', `${name}.crt`, '-extfile', 'ext.cnf'],
    dir,
  );
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'arenacache-pki-'));
  writeFileSync(
    join(dir, 'ext.cnf'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  makeCa(dir, 'ca');
  makeLeaf(dir, 'ca', 'node');
  makeCa(dir, 'rogue-ca');
  makeLeaf(dir, 'rogue-ca', 'rogue');
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'node.crt'),
    keyFile: join(dir, 'node.key'),
    rogueCertFile: join(dir, 'rogue.crt'),
    rogueKeyFile: join(dir, 'rogue.key'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
