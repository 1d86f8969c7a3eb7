/**
 * Test helper: a 3-member etcd cluster on loopback, with a unique --initial-cluster-token,
 * each member with its own temporary data dir (deleted by destroy()).
 */
import { EtcdProcess, freePort, requireBinary, ETCD_BIN, etcdctl } from './etcd.js';

export interface EtcdCluster {
  members: EtcdProcess[];
  /** Client URLs of all members (pass them all to the client). */
  endpoints: string[];
  /** The member that is currently leader (asks the running members). */
  leader(): Promise<EtcdProcess>;
  destroy(): Promise<void>;
  etcdctl(...args: string[]): string;
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  requireBinary(ETCD_BIN);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const ports = new Set<number>();
    while (ports.size < size * 2) ports.add(await freePort());
    const p = [...ports];
    const token = `arenacache-cluster-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
    const initialCluster = names.map((n, i) => `${n}=http://127.0.0.1:${p[2 * i + 1]}`).join(',');
    const members = names.map(
      (name, i) =>
        new EtcdProcess({ name, clientPort: p[2 * i]!, peerPort: p[2 * i + 1]!, initialCluster, clusterToken: token }),
    );
    for (const m of members) m.spawn();
    try {
      await Promise.all(members.map((m) => m.waitHealthy(30_000)));
    } catch (err) {
      lastErr = err;
      await Promise.all(members.map((m) => m.destroy('SIGKILL')));
      continue;
    }
    const endpoints = members.map((m) => m.clientUrl);
    return {
      members,
      endpoints,
      async leader() {
        for (const m of members) {
          if (!m.running) continue;
          try {
            const s = await m.status();
            const leader = await Promise.all(
              members.map(async (x) => (x.running ? { x, id: (await x.status()).memberId } : null)),
            );
            const found = leader.find((e) => e !== null && e.id === s.leader);
            if (found) return found.x;
          } catch {
            /* try the next member */
          }
        }
        throw new Error('no leader found');
      },
      destroy: async () => {
        // A throwaway cluster: no graceful leader transfer needed (SIGTERM can take seconds with a member down).
        await Promise.all(members.map((m) => m.destroy('SIGKILL')));
      },
      etcdctl: (...args: string[]) => etcdctl(endpoints, ...args),
    };
  }
  throw new Error(`could not start a ${size}-member etcd cluster: ${String(lastErr)}`);
}
