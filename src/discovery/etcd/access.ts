/**
 * The rules of etcd TLS and authentication settings, in one place: the node's configuration checks
 * them before anything starts, and `etcdMembershipOptions` applies them when it builds a client.
 * Reads the PEM and password files. Throws RangeError naming the missing part.
 */
import { readFileSync } from 'node:fs';

export interface EtcdAccessConfig {
  tls?: {
    caFile?: string | undefined;
    certFile?: string | undefined;
    keyFile?: string | undefined;
    /** Inline PEM, instead of the files. */
    ca?: string | undefined;
    cert?: string | undefined;
    key?: string | undefined;
  } | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** Read the password from this file (trailing newline stripped) instead of `password`. */
  passwordFile?: string | undefined;
}

export interface EtcdAccess {
  tls?: { ca: string; cert?: string; key?: string };
  auth?: { username: string; password: string };
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new RangeError(`${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function etcdAccess(cfg: EtcdAccessConfig): EtcdAccess {
  const out: EtcdAccess = {};
  const t = cfg.tls;
  if (t && Object.values(t).some((v) => v !== undefined)) {
    const ca = t.ca ?? (t.caFile ? read(t.caFile, 'etcd TLS CA (--etcd-ca)') : undefined);
    if (!ca) throw new RangeError('etcd TLS needs the CA of the etcd servers (--etcd-ca, or etcd.tls.caFile / ca)');
    const cert = t.cert ?? (t.certFile ? read(t.certFile, 'etcd client certificate (--etcd-cert)') : undefined);
    const key = t.key ?? (t.keyFile ? read(t.keyFile, 'etcd client key (--etcd-key)') : undefined);
    if ((cert === undefined) !== (key === undefined)) {
      throw new RangeError('etcd TLS client authentication needs both a certificate and its key (--etcd-cert and --etcd-key)');
    }
    out.tls = { ca, ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
  }
  const hasPassword = cfg.password !== undefined || cfg.passwordFile !== undefined;
  if (cfg.username !== undefined && !hasPassword) {
    throw new RangeError('etcd user given without a password (--etcd-password-file, or etcd.password / passwordFile)');
  }
  if (cfg.username === undefined && hasPassword) throw new RangeError('etcd password given without a user (--etcd-user, or etcd.username)');
  if (cfg.username !== undefined) {
    const password = cfg.password ?? read(cfg.passwordFile!, 'etcd password file (--etcd-password-file)').replace(/\r?\n$/, '');
    out.auth = { username: cfg.username, password };
  }
  return out;
}
