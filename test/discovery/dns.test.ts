/** DnsMembership in process, against dnsmasq: SRV records, "no such name", self not in the answers. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../src/cluster/membership.js';
import { DnsMembership } from '../../src/discovery/dns.js';
import { DnsServer } from '../helpers/dnsmasq.js';
import { waitFor } from '../helpers/wait.js';

let dns: DnsServer;
const open: DnsMembership[] = [];
beforeAll(async () => {
  dns = await DnsServer.start({ 'pods.test': ['127.0.0.2', '127.0.0.3'] }, [
    { name: '_grpc._tcp.nodes.test', target: 'node-0.nodes.test', port: 7001 },
    { name: '_grpc._tcp.nodes.test', target: 'node-1.nodes.test', port: 7002 },
  ]);
});
afterAll(async () => {
  await Promise.all(open.map((m) => m.close()));
  await dns?.destroy();
});

function membership(self: NodeInfo, name: string, logs: string[] = []): DnsMembership {
  const logger = { info: (_o: object, m?: string) => logs.push(`info ${m}`), warn: (_o: object, m?: string) => logs.push(`warn ${m}`) };
  const m = new DnsMembership({ self, name, servers: [dns.address], intervalMs: 100, logger });
  open.push(m);
  return m;
}

const ids = (m: DnsMembership) => m.members().map((x) => x.id).join(',');

describe('DnsMembership', () => {
  it('SRV: one member per target at its own port; self is the one at its own address', async () => {
    const m = membership({ id: 'node-1.nodes.test:7002', grpcAddress: 'node-1.nodes.test:7002' }, '_grpc._tcp.nodes.test');
    await m.start();
    expect(m.srv).toBe(true);
    expect(ids(m)).toBe('node-0.nodes.test:7001,node-1.nodes.test:7002');
    expect(m.members().find((x) => x.id === 'node-1.nodes.test:7002')).toEqual({ id: 'node-1.nodes.test:7002', grpcAddress: 'node-1.nodes.test:7002' });
  });

  it('a name with no records leaves just self; the first answer with records publishes once', async () => {
    const logs: string[] = [];
    const self = { id: '127.0.0.9:7000', grpcAddress: '127.0.0.9:7000' };
    const m = membership(self, 'later.test', logs);
    const seen: string[] = [];
    m.onChange((list) => seen.push(list.map((x) => x.id).join(',')));
    await m.start();
    expect(ids(m)).toBe('127.0.0.9:7000');
    await dns.setRecords({ 'pods.test': ['127.0.0.2', '127.0.0.3'], 'later.test': ['127.0.0.9', '127.0.0.8'] });
    await waitFor('the new record is used', () => ids(m) === '127.0.0.8:7000,127.0.0.9:7000', 5000, () => logs);
    expect(seen).toEqual(['127.0.0.8:7000,127.0.0.9:7000']);
    expect(logs.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it("warns once when the answers do not include this node's own address", async () => {
    const logs: string[] = [];
    const m = membership({ id: 'me:7000', grpcAddress: 'me:7000' }, 'pods.test', logs);
    await m.start();
    expect(ids(m)).toBe('127.0.0.2:7000,127.0.0.3:7000,me:7000');
    expect(logs.filter((l) => l.includes('not among the DNS answers'))).toHaveLength(1);
  });
});
