// A model of a ring (assembly/ring.ts) at the level that decides victims: block positions, the
// skipped ends, span and the free-byte rules. Positions are relative to the ring's start.

export interface Block {
  readonly key: string;
  readonly size: number;
  pos: number;
  dead: boolean;
}

export class RingModel {
  head = 0;
  tail = 0;
  span = 0;
  live = 0;
  count = 0;
  /** Blocks from tail (index 0) to head. */
  readonly blocks: Block[] = [];

  constructor(
    readonly len: number,
    readonly hdr: number,
    readonly cap: number,
  ) {}

  next(pos: number, size: number): number {
    let n = pos + size;
    if (n >= this.len) n -= this.len;
    else if (this.len - n < this.hdr) n = 0;
    return n;
  }

  dist(a: number, b: number): number {
    return b >= a ? b - a : b + this.len - a;
  }

  fits(size: number): boolean {
    return this.dist(this.head, this.next(this.head, size)) <= this.len - this.span - this.hdr;
  }

  append(key: string, size: number): Block {
    const b: Block = { key, size, pos: this.head, dead: false };
    const n = this.next(this.head, size);
    this.span += this.dist(this.head, n);
    this.head = n;
    this.blocks.push(b);
    return b;
  }

  /** Drops the tail block; returns the new tail position (the sweep cursor follows it). */
  dropTail(): Block {
    const b = this.blocks.shift()!;
    const n = this.next(b.pos, b.size);
    this.span -= this.dist(b.pos, n);
    this.tail = n;
    return b;
  }

  /** Moves the tail block to the head, unless that would leave no free byte. */
  relocateTail(): boolean {
    const b = this.blocks[0];
    const tNext = this.next(b.pos, b.size);
    const hNext = this.next(this.head, b.size);
    const tailUse = this.dist(b.pos, tNext);
    const headUse = this.dist(this.head, hNext);
    if (this.len - this.span + tailUse - headUse < 4) return false;
    this.blocks.shift();
    b.pos = this.head;
    this.blocks.push(b);
    this.head = hNext;
    this.tail = tNext;
    this.span += headUse - tailUse;
    return true;
  }

  reset(): void {
    this.head = this.tail = this.span = this.live = this.count = 0;
    this.blocks.length = 0;
  }
}
