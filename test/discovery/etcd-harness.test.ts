import { describe, it, expect } from 'vitest';
import { statSync, existsSync } from 'node:fs';
import { requireBinary, startEtcd, ETCD_INSTALL_HINT } from '../helpers/etcd.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('etcd test harness', () => {
  it('fails (does not skip) with the install command when the etcd binary is missing', () => {
    expect(() => requireBinary('/nonexistent/arenacache/etcd')).toThrow(/apt-get install -y etcd-server/);
    expect(ETCD_INSTALL_HINT).toContain('apt-get install');
  });

  it('starts etcd on free loopback ports with a private data dir, and stops it by pid and deletes the dir', async () => {
    const etcd = await startEtcd();
    const pid = etcd.proc.pid!;
    const dir = etcd.proc.dataDir;
    try {
      expect(etcd.endpoints[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const res = await fetch(`${etcd.endpoints[0]}/health`);
      expect(await res.json()).toMatchObject({ health: 'true' });
      expect(alive(pid)).toBe(true);
    } finally {
      await etcd.destroy();
    }
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
