/** Name the cause of a failed etcd call in words an operator acts on (refused, TLS, auth, DNS, timeout). */

const CAUSES: ReadonlyArray<[RegExp, string]> = [
  [/authentication failed|user name is empty|invalid auth token|permission denied|unauthenticated/i, 'authentication refused (check --etcd-user / --etcd-password-file and the role)'],
  [/certificate|ssl|tls|handshake|self[- ]signed|unable to verify|wrong version number|alert/i, 'TLS handshake failed (check --etcd-ca / --etcd-cert / --etcd-key and https://)'],
  [/ECONNREFUSED|connection refused/i, 'connection refused (is etcd running on that address?)'],
  [/ENOTFOUND|EAI_AGAIN|getaddrinfo|name resolution/i, 'host name not found (DNS)'],
  [/ECONNRESET|socket hang up|connection reset/i, 'connection reset'],
  [/EHOSTUNREACH|ENETUNREACH/i, 'host unreachable'],
  [/ETIMEDOUT|DEADLINE_EXCEEDED|deadline exceeded|timed? ?out/i, 'no answer (timed out)'],
];

export function etcdCause(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err ?? '');
  for (const [re, cause] of CAUSES) if (re.test(text)) return cause;
  return text.length > 160 ? text.slice(0, 160) + '…' : text || 'unknown error';
}
