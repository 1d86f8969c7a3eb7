// A growable FIFO of int32 keys (push at the head, pop at the tail): the log order of the
// log-structured policies, without modelling the bytes of the log itself.

export class Ring {
  constructor(capacity = 16) {
    this.buf = new Int32Array(Math.max(16, capacity));
    this.head = 0; // next write position
    this.tail = 0; // oldest element
    this.length = 0;
  }

  push(key) {
    if (this.length === this.buf.length) this.grow();
    this.buf[this.head] = key;
    this.head = this.head + 1 === this.buf.length ? 0 : this.head + 1;
    this.length++;
  }

  /** The oldest key, or -1 when empty. */
  peek() {
    return this.length ? this.buf[this.tail] : -1;
  }

  pop() {
    if (!this.length) return -1;
    const k = this.buf[this.tail];
    this.tail = this.tail + 1 === this.buf.length ? 0 : this.tail + 1;
    this.length--;
    return k;
  }

  /** Oldest first (tests and debugging). */
  toArray() {
    const out = [];
    for (let i = 0, p = this.tail; i < this.length; i++, p = p + 1 === this.buf.length ? 0 : p + 1) out.push(this.buf[p]);
    return out;
  }

  grow() {
    const next = new Int32Array(this.buf.length * 2);
    next.set(this.toArray());
    this.buf = next;
    this.tail = 0;
    this.head = this.length;
  }
}
