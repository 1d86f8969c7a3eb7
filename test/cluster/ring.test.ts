import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fnv1a32, fnv1a32Bytes, Ring, utf8Length, type NodeInfo } from '../../src/cluster/index.js';

const nodes = (n: number, prefix = 'node-'): NodeInfo[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i + 1}`, grpcAddress: `10.0.0.${i + 1}:7070` }));
const keys = Array.from({ length: 10_000 }, (_, i) => `user:${i}`);

function owners(ring: Ring): string[] {
  return keys.map((k) => ring.owner(k)!.id);
}

describe('hash', () => {
  it('is FNV-1a 32 over UTF-8 (reference vectors)', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes strings exactly like their TextEncoder bytes, lone surrogates included', () => {
    const enc = new TextEncoder();
    const str = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.string());
    fc.assert(
      fc.property(str, (s) => {
        const bytes = enc.encode(s);
        expect(fnv1a32(s)).toBe(fnv1a32Bytes(bytes));
        expect(utf8Length(s)).toBe(bytes.length);
      }),
      { numRuns: 500 },
    );
    for (const s of ['\ud800', 'a\udc00b', '\ud83d', '😀', 'é日本']) {
      expect(fnv1a32(s)).toBe(fnv1a32Bytes(enc.encode(s)));
      expect(utf8Length(s)).toBe(enc.encode(s).length);
    }
  });
});

describe('Ring', () => {
  it('adding a 5th node to 4 moves about 1/5 of the keys, all to the new node', () => {
    const before = owners(new Ring(nodes(4)));
    const after = owners(new Ring(nodes(5)));
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] !== after[i]) {
        moved++;
        expect(after[i]).toBe('node-5');
      }
    }
    expect(moved / keys.length).toBeGreaterThan(0.15);
    expect(moved / keys.length).toBeLessThan(0.25);
  });

  it('removing a node moves only the keys it owned', () => {
    const all = nodes(5);
    const before = owners(new Ring(all));
    const after = owners(new Ring(all.filter((n) => n.id !== 'node-3')));
    let moved = 0;
    for (let i = 0; i < keys.length; i++) {
      if (before[i] === 'node-3') {
        expect(after[i]).not.toBe('node-3');
        moved++;
      } else {
        expect(after[i]).toBe(before[i]);
      }
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('spreads keys over the nodes roughly evenly', () => {
    const counts = new Map<string, number>();
    for (const o of owners(new Ring(nodes(5)))) counts.set(o, (counts.get(o) ?? 0) + 1);
    expect(counts.size).toBe(5);
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(10_000 / 5 * 0.7);
      expect(c).toBeLessThan(10_000 / 5 * 1.3);
    }
  });

  it('every node computes the same owner for the same membership, whatever the input order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 50 }),
        fc.integer(),
        (ids, ks, seed) => {
          const list = ids.map((id) => ({ id, grpcAddress: `${id}:1` }));
          const shuffled = [...list].sort((a, b) => ((fnv1a32(a.id) ^ seed) >>> 0) - ((fnv1a32(b.id) ^ seed) >>> 0));
          const r1 = new Ring(list, { replicas: 40 });
          const r2 = new Ring([...shuffled, ...shuffled], { replicas: 40 });
          for (const k of ks) expect(r2.owner(k)!.id).toBe(r1.owner(k)!.id);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('removal moves only the removed node’s keys, for random memberships', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 2, maxLength: 7 }),
        fc.nat(),
        fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 60 }),
        (ids, pick, ks) => {
          const list = ids.map((id) => ({ id, grpcAddress: 'x:1' }));
          const gone = ids[pick % ids.length]!;
          const r1 = new Ring(list, { replicas: 30 });
          const r2 = new Ring(list.filter((n) => n.id !== gone), { replicas: 30 });
          for (const k of ks) {
            const o = r1.owner(k)!.id;
            if (o !== gone) expect(r2.owner(k)!.id).toBe(o);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('honours weights: weight 2 gets about twice the keys, weight 0 gets none', () => {
    const list = nodes(3);
    list[0] = { ...list[0]!, weight: 2 };
    list[2] = { ...list[2]!, weight: 0 };
    const counts = new Map<string, number>();
    for (const o of owners(new Ring(list))) counts.set(o, (counts.get(o) ?? 0) + 1);
    expect(counts.get('node-3')).toBeUndefined();
    const ratio = counts.get('node-1')! / counts.get('node-2')!;
    expect(ratio).toBeGreaterThan(1.5);
    expect(ratio).toBeLessThan(2.6);
  });

  it('has the configured number of virtual nodes; an empty ring owns nothing', () => {
    expect(new Ring(nodes(3)).size).toBe(480);
    expect(new Ring(nodes(3), { replicas: 10 }).size).toBe(30);
    expect(new Ring([]).owner('k')).toBeUndefined();
    expect(() => new Ring(nodes(1), { replicas: 0 })).toThrow(RangeError);
  });
});
