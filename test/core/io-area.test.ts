// IoArea, the one way the host writes into linear memory: whatever is asked of it, no byte outside
// [start, end) changes, and what it reports written is exactly what is there.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IoArea } from '../../src/core/io-area.js';

const GUARD = 0xa5;
const enc = new TextEncoder();

/** A memory of `before + size + after` guard bytes with an area in the middle. */
function setup(size: number, before = 64, after = 64) {
  const memory = new ArrayBuffer(Math.ceil((before + size + after) / 8) * 8); // as wasm memory: whole words
  const u8 = new Uint8Array(memory).fill(GUARD);
  const io = new IoArea(memory, before, size);
  const outside = () => u8.subarray(0, before).every((b) => b === GUARD) && u8.subarray(before + size).every((b) => b === GUARD);
  return { io, u8, outside };
}

const chars = fc.constantFrom('a', 'z', 'é', '€', '😀', '\ud800', 'ж', ' ');
const text = fc.array(chars, { maxLength: 80 }).map((a) => a.join(''));

describe('IoArea', () => {
  it('text(): never writes outside the area, whatever the position, limit and string', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), text, fc.integer({ min: -8, max: 260 }), fc.integer({ min: -4, max: 300 }), (size, s, offset, limit) => {
        const { io, u8, outside } = setup(size);
        const at = io.start + offset;
        const n = io.text(at, s, limit);
        expect(outside()).toBe(true);
        const bytes = enc.encode(s);
        if (n >= 0) {
          expect(n).toBe(bytes.length);
          expect(n).toBeLessThanOrEqual(limit);
          expect(u8.subarray(at, at + n)).toEqual(bytes);
        } else {
          // Refused only when it does not fit.
          expect(offset < 0 || offset > size || bytes.length > Math.min(limit, size - offset)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('bytes() and data(): all or nothing, inside the area', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.uint8Array({ maxLength: 220 }), fc.integer({ min: -8, max: 260 }), (size, src, offset) => {
        const { io, u8, outside } = setup(size);
        const at = io.start + offset;
        const fits = offset >= 0 && offset + src.length <= size;
        expect(io.bytes(at, src)).toBe(fits);
        expect(outside()).toBe(true);
        if (fits) expect(u8.subarray(at, at + src.length)).toEqual(src);
        expect(io.data(at, src, src.length - 1)).toBe(-1);
        expect(outside()).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('words: written and read only inside the area and aligned', () => {
    const { io, outside } = setup(32);
    io.setU32(io.start, 0xffffffff);
    io.setI32(io.start + 28, -5);
    io.setF64(io.start + 8, 1.5);
    expect(io.getU32(io.start)).toBe(0xffffffff);
    expect(io.getI32(io.start + 28)).toBe(-5);
    for (const at of [io.start - 4, io.start + 30, io.start + 32, io.start + 2]) {
      expect(() => io.setU32(at, 1), String(at)).toThrow(RangeError);
      expect(() => io.getU32(at), String(at)).toThrow(RangeError);
    }
    expect(() => io.setF64(io.start + 28, 1)).toThrow(RangeError);
    expect(outside()).toBe(true);
  });

  it('refuses an area that is not inside the memory', () => {
    expect(() => new IoArea(new ArrayBuffer(64), 32, 64)).toThrow(RangeError);
    expect(() => new IoArea(new ArrayBuffer(64), -1, 8)).toThrow(RangeError);
  });
});
