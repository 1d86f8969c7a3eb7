/** Static peers: `id=host:port` or `host:port` (id = the address). */
import type { NodeInfo } from '../../cluster/membership.js';
import { checkNodeId } from '../../cluster/validate.js';
import { ConfigError } from './errors.js';

const ADDRESS_RE = /^(\[[0-9a-fA-F:.]+\]|[^\s:/[\]]+):(\d{1,5})$/;

export function parsePeers(list: readonly string[]): NodeInfo[] {
  return list.map((entry) => {
    const eq = entry.indexOf('=');
    const id = eq < 0 ? entry : entry.slice(0, eq).trim();
    const addr = eq < 0 ? entry : entry.slice(eq + 1).trim();
    const m = ADDRESS_RE.exec(addr);
    if (!m || Number(m[2]) > 65535) throw new ConfigError(`peer ${JSON.stringify(entry)}: expected id=host:port or host:port`);
    try {
      checkNodeId(id);
    } catch (err) {
      throw new ConfigError(`peer ${JSON.stringify(entry)}: ${(err as Error).message}`);
    }
    return { id, grpcAddress: addr };
  });
}
