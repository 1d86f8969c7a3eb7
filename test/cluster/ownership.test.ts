/**
 * The ring's owned ranges and the ownership ledger (src/cluster/ownership.ts): which entries a
 * node may serve as owner after membership changes, and which it may hand over.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ring, ringHash, type NodeInfo } from '../../src/cluster/index.js';
import { Ownership } from '../../src/cluster/ownership.js';

const node = (id: string): NodeInfo => ({ id, grpcAddress: `${id}:1` });
const ring = (...ids: string[]) => new Ring(ids.map(node), { replicas: 40 });

describe('Ring.ranges', () => {
  it('a node\'s ranges hold exactly the hashes it owns, and the nodes\' ranges cover the space once', () => {
    const r = ring('a', 'b', 'c', 'd');
    let total = 0;
    for (const id of ['a', 'b', 'c', 'd']) for (const [lo, hi] of r.ranges(id)) total += hi - lo + 1;
    expect(total).toBe(2 ** 32);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (h) => {
        for (const id of ['a', 'b', 'c', 'd']) {
          const inRanges = r.ranges(id).some(([lo, hi]) => h >= lo && h <= hi);
          expect(inRanges).toBe(r.ownerOfHash(h)!.id === id);
        }
      }),
      { numRuns: 2000 },
    );
    // The edges: 0, the top of the space, and every point itself.
    for (const h of [0, 0xffffffff]) expect(r.ranges(r.ownerOfHash(h)!.id).some(([lo, hi]) => h >= lo && h <= hi)).toBe(true);
  });
});

describe('Ownership', () => {
  const keys = Array.from({ length: 2000 }, (_, i) => ringHash(`key-${i}`));

  it('keys owned throughout keep their entries; keys lost and regained do not', () => {
    const r1 = ring('a', 'b', 'c');
    const r2 = ring('a', 'b', 'c', 'd');
    const own = new Ownership('a', r1);
    own.rejoin(r1, ring('b', 'c'), 0);
    const stamp = own.version; // entries stored now
    own.update(r1, r2, 10, 60_000); // d joins: a loses some keys
    own.update(r2, r1, 20, 60_000); // d leaves: a regains them
    let kept = 0;
    let regained = 0;
    for (const h of keys) {
      const ownedThroughout = r1.ownerOfHash(h)!.id === 'a' && r2.ownerOfHash(h)!.id === 'a';
      const ownedNow = r1.ownerOfHash(h)!.id === 'a';
      expect(own.validAsOwner(h, stamp)).toBe(ownedThroughout);
      if (ownedThroughout) kept++;
      else if (ownedNow) regained++;
      // An entry stored now is valid for every key owned now.
      expect(own.validAsOwner(h, own.version)).toBe(true);
      expect(own.ownedSince(h) >= 0).toBe(ownedNow);
    }
    expect(kept).toBeGreaterThan(100);
    expect(regained).toBeGreaterThan(20);
  });

  it('a rejoin invalidates everything held before; keys gained come with the ring to take them over from', () => {
    const r = ring('a', 'b', 'c');
    const own = new Ownership('a', r);
    own.rejoin(r, ring('b', 'c'), 0);
    const before = own.version;
    own.rejoin(r, ring('b', 'c'), 1000);
    expect(own.rejoinVersion).toBe(own.version);
    for (const h of keys) {
      if (r.ownerOfHash(h)!.id !== 'a') continue;
      expect(own.validAsOwner(h, before)).toBe(false);
      const gain = own.gained(h, 2000, 60_000)!;
      expect(gain.prev.ownerOfHash(h)!.id).toBe(ring('b', 'c').ownerOfHash(h)!.id);
      expect(own.gained(h, 1000 + 60_000, 60_000)).toBeUndefined(); // the handoff window is over
    }
  });

  it('what a node lost it may hand over within the window, if it held it as owner until then', () => {
    const r1 = ring('a', 'b', 'c');
    const r2 = ring('a', 'b', 'c', 'd');
    const own = new Ownership('a', r1);
    own.rejoin(r1, ring('b', 'c'), 0);
    const stamp = own.version;
    own.update(r1, r2, 100, 60_000);
    expect(own.hasLost(200, 60_000)).toBe(true);
    for (const h of keys) {
      const lost = r1.ownerOfHash(h)!.id === 'a' && r2.ownerOfHash(h)!.id !== 'a';
      if (!lost) continue;
      expect(own.validAsOwner(h, stamp)).toBe(false);
      expect(own.validForHandoff(h, stamp, 200, 60_000)).toBe(true);
      expect(own.validForHandoff(h, stamp, 100 + 60_000, 60_000)).toBe(false);
      expect(own.validForHandoff(h, stamp - 1, 200, 60_000)).toBe(false); // stored before it owned the key
    }
  });

  it('a node that was alone takes its keys over from the others once they are listed', () => {
    const own = new Ownership('d', ring('d'));
    own.rejoin(ring('d'), new Ring([]), 0);
    const r2 = ring('a', 'b', 'c', 'd');
    own.update(ring('d'), r2, 50, 60_000);
    for (const h of keys) {
      if (r2.ownerOfHash(h)!.id !== 'd') continue;
      expect(own.gained(h, 60, 60_000)!.prev.ownerOfHash(h)!.id).toBe(ring('a', 'b', 'c').ownerOfHash(h)!.id);
    }
  });
});
