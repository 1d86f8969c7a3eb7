// bench/lib/traces.mjs: finding and decoding ACT1 traces (on small files written here: the real
// traces are never in the repository and CI has none) and the synthetic generators.
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain JS bench module (no declarations), as the bench runs it
import { tracesDir, tracePath, readAct, loadRealTrace, zipf, scanHeavy, loopTrace } from '../../bench/lib/traces.mjs';

const dir = mkdtempSync(join(tmpdir(), 'act-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An ACT1 file: "ACT1" | n | objects | flags | ids | (sizes). */
function act(name: string, ids: number[], objects: number, sizes?: number[]) {
  const words = [ids.length, objects, sizes ? 1 : 0, ...ids, ...(sizes ?? [])];
  const body = Buffer.alloc(4 + 4 * words.length);
  body.write('ACT1', 0, 'latin1');
  words.forEach((w, i) => body.writeUInt32LE(w, 4 + 4 * i));
  writeFileSync(join(dir, `${name}.act.gz`), gzipSync(body));
}

describe('real traces', () => {
  it('finds them through TRACES_DIR and reports absence without throwing', async () => {
    act('web12', [0, 1, 0, 2], 3);
    expect(tracesDir({ TRACES_DIR: dir }).dir).toBe(dir);
    expect(tracePath('web12', { TRACES_DIR: dir })).toBe(join(dir, 'web12.act.gz'));
    expect(tracePath('orm-busy', { TRACES_DIR: dir })).toBeNull();
    const missing = tracesDir({ TRACES_DIR: join(dir, 'nope') });
    expect(missing.dir).toBeNull();
    expect(missing.reason).toMatch(/not present/);
    expect(await loadRealTrace('web12', { TRACES_DIR: join(dir, 'nope') })).toBeNull();
  });

  it('decodes unsized and sized traces; the working set counts each object once', async () => {
    act('plain', [0, 1, 0, 2], 3);
    const t = await readAct(join(dir, 'plain.act.gz'), 'plain');
    expect([...t.ids]).toEqual([0, 1, 0, 2]);
    expect(t.sizes).toBeNull();
    expect(t.objects).toBe(3);
    expect(t.workingSetBytes).toBe(3);
    act('sized', [0, 1, 0], 2, [100, 7, 100]);
    const s = await readAct(join(dir, 'sized.act.gz'));
    expect([...s.sizes]).toEqual([100, 7, 100]);
    expect(s.workingSetBytes).toBe(107);
  });

  it('decodes a trace larger than one stream chunk', async () => {
    const ids = Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 1000);
    act('big', ids, 1000);
    const t = await readAct(join(dir, 'big.act.gz'));
    expect(t.ids.length).toBe(ids.length);
    expect(t.ids[99_999]).toBe(ids[99_999]);
  });

  it('rejects other files and truncated ones', async () => {
    writeFileSync(join(dir, 'bad.act.gz'), gzipSync(Buffer.from('NOPE0000000000000000')));
    await expect(readAct(join(dir, 'bad.act.gz'))).rejects.toThrow(/not an ACT1/);
    const body = Buffer.alloc(16 + 4);
    body.write('ACT1', 0, 'latin1');
    body.writeUInt32LE(5, 4); // claims 5 ids, has 1
    writeFileSync(join(dir, 'short.act.gz'), gzipSync(body));
    await expect(readAct(join(dir, 'short.act.gz'))).rejects.toThrow(/truncated/);
  });
});

describe('synthetic traces', () => {
  it('zipf is seeded and skewed', () => {
    const a = zipf({ objects: 1000, length: 20_000, seed: 5 });
    expect([...a.ids]).toEqual([...zipf({ objects: 1000, length: 20_000, seed: 5 }).ids]);
    const counts = new Map<number, number>();
    for (const k of a.ids) counts.set(k, (counts.get(k) ?? 0) + 1);
    const top = Math.max(...counts.values());
    expect(top / a.ids.length).toBeGreaterThan(0.08); // rank 1 of Zipf(0.99) over 1000 keys ≈ 13%
    expect(Math.max(...a.ids)).toBeLessThan(1000);
  });

  it('scan-heavy: scan keys are new, used once, consecutive, and make up about the asked share', () => {
    const t = scanHeavy({ objects: 10_000, length: 200_000, scanShare: 0.4, seed: 9 });
    const scan = [...t.ids].filter((k) => k >= 10_000);
    expect(new Set(scan).size).toBe(scan.length);
    expect(scan.every((k, i) => k === 10_000 + i)).toBe(true);
    expect(scan.length / t.ids.length).toBeGreaterThan(0.3);
    expect(scan.length / t.ids.length).toBeLessThan(0.5);
    expect(t.objects).toBe(10_000 + scan.length);
    expect(t.workingSetBytes).toBe(10_000);
  });

  it('loop: half the requests walk the loop keys in order, cyclically', () => {
    const t = loopTrace({ objects: 1000, loop: 300, length: 10_000, seed: 3 });
    const loop = [...t.ids].filter((k) => k >= 1000);
    expect(loop.every((k, i) => k === 1000 + (i % 300))).toBe(true);
    expect(Math.abs(loop.length / t.ids.length - 0.5)).toBeLessThan(0.03);
  });
});
