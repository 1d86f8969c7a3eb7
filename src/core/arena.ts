/**
 * Arena: one core instance over an arena, as one thread uses it. Instantiates the module, lays the
 * arena out (`init`) or attaches to a shared one, sizes a shared memory to exactly what `init` will
 * lay out, and holds the thread's slot until `close`.
 */
import {
  ABI_VERSION, ARENA_END_LIMIT, Header, InitFlag, MAGIC, MAX_PAGES, PAGE_BYTES, POLICIES, STATUS_NAMES, SlotField,
  SlotFlag, Status, type CoreExports,
} from './abi.js';
import { IoArea } from './io-area.js';
import type { Layout } from './options.js';

/**
 * What a thread needs to attach to a shared arena: the compiled core and its shared memory. Both
 * are structured-cloneable, so post the handle to a worker (postMessage or workerData) as is.
 */
export interface SharedArenaHandle {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
}

export class Arena {
  /** The core's exports; after `close` of a shared arena, a stub whose every call throws. */
  ex: CoreExports;
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly slot: number;
  readonly shared: boolean;
  /** Offset of the header. */
  readonly header: number;
  private readonly u32: Uint32Array;

  constructor(ex: CoreExports, module: WebAssembly.Module, slot: number, shared: boolean) {
    this.ex = ex;
    this.module = module;
    this.memory = ex.memory;
    this.slot = slot;
    this.shared = shared;
    this.header = ex.header();
    // No export grows the memory after init: views taken now stay valid for the arena's lifetime.
    this.u32 = new Uint32Array(ex.memory.buffer);
  }

  /** A u32 header field (`Header.*`). */
  field(offset: number): number {
    return this.u32[(this.header + offset) >>> 2];
  }

  /** An f64 header field (`Header.DEFAULT_TTL`, `Header.EPOCH`). */
  f64Field(offset: number): number {
    return new DataView(this.memory.buffer).getFloat64(this.header + offset, true);
  }

  /** This thread's I/O area. */
  ioArea(): IoArea {
    return new IoArea(this.memory.buffer, this.ex.io_ptr(this.slot), this.field(Header.IO_BYTES));
  }

  /** Offset of this slot's eviction log, or 0 when the arena has none. */
  logAt(): number {
    return this.field(Header.LOG_BYTES) !== 0 ? this.ex.log_ptr(this.slot) : 0;
  }

  /** Gives a shared arena's slot back; every later call throws (the slot may be another thread's). */
  close(): void {
    if (!this.shared) return;
    this.ex.detach(this.slot);
    const memory = this.memory;
    this.ex = new Proxy({} as CoreExports, {
      get: (_target, name) => {
        if (name === 'memory') return memory;
        return () => {
          throw new Error('arenacache: this cache is closed (its thread slot was given back)');
        };
      },
    });
  }
}

/** Lays out a private arena in a fresh instance of a non-shared module (zero imports). */
export async function createPrivateArena(module: WebAssembly.Module, layout: Layout, flags: number, now: number): Promise<Arena> {
  const instance = await WebAssembly.instantiate(module, {});
  const ex = instance.exports as unknown as CoreExports;
  checkVersion(ex);
  initArena(ex, layout, 1, now);
  ex.set_flags(0, flags);
  return new Arena(ex, module, 0, false);
}

/** Lays out a shared arena in a memory sized for it, claiming slot 0 with `tag` and `flags`. */
export async function createSharedArena(
  module: WebAssembly.Module, layout: Layout, threads: number, tag: number, flags: number, now: number,
): Promise<Arena> {
  const memory = await sharedMemory(module, layout, threads);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const ex = instance.exports as unknown as CoreExports;
  checkVersion(ex);
  initArena(ex, layout, threads, now);
  ex.set_flags(0, flags);
  const arena = new Arena(ex, module, 0, true);
  // Slot 0 is the creator's (init claimed it); nobody else can see the arena yet.
  const tagWord = arena.field(Header.SLOT_TABLE) + SlotField.TAG;
  new IoArea(memory.buffer, tagWord, 4).setU32(tagWord, tag);
  return arena;
}

/** Claims a free slot of a shared arena created by createSharedArena. */
export async function attachSharedArena(handle: SharedArenaHandle, tag: number, flags: number, wantsLog: boolean): Promise<Arena> {
  const instance = await WebAssembly.instantiate(handle.module, { env: { memory: handle.memory } });
  const ex = instance.exports as unknown as CoreExports;
  checkVersion(ex);
  if (!ex.ready()) throw new Error('arenacache: the shared memory holds no initialised arena');
  if (wantsLog && new Uint32Array(ex.memory.buffer)[(ex.header() + Header.LOG_BYTES) >>> 2] === 0) {
    throw new TypeError('arenacache: this arena has no eviction logs: create it with `evictionLogs: true` (or an onEvict) to attach with onEvict');
  }
  const slot = ex.attach(tag, flags);
  if (slot < 0) {
    if (slot === Status.NO_SLOT) {
      throw new Error('arenacache: cannot attach: all thread slots are in use (raise `threads` in createShared, or close/release finished threads)');
    }
    throw new Error(`arenacache: cannot attach (${STATUS_NAMES[slot] ?? slot})`);
  }
  try {
    return new Arena(ex, handle.module, slot, true);
  } catch (e) {
    ex.detach(slot);
    throw e;
  }
}

function checkVersion(ex: CoreExports): void {
  if (ex.abi_version() !== ABI_VERSION) throw new Error(`arenacache: core ABI ${ex.abi_version()}, host expects ${ABI_VERSION}`);
}

function initFlags(layout: Layout): number {
  return (layout.logs ? InitFlag.LOG : 0) | (layout.prefault ? InitFlag.PREFAULT : 0);
}

function initArena(ex: CoreExports, layout: Layout, threads: number, now: number): void {
  const [s0, s1, s2, s3] = layout.seed;
  const r = ex.init(
    layout.maxBytes >>> 0, layout.segments, threads, layout.maxKeyBytes, layout.maxValueBytes, layout.maxEntries,
    POLICIES[layout.policy], initFlags(layout), layout.ttl, now, s0, s1, s2, s3,
  );
  if (r <= 0) {
    if (r === Status.NO_MEMORY) throw new RangeError(`arenacache: cannot allocate ${layout.maxBytes} bytes of WebAssembly memory`);
    // The host checked every argument's range: what is left is a segment too small for its index.
    throw new RangeError(
      `arenacache: maxBytes ${layout.maxBytes} over ${layout.segments} segments leaves a segment too little room ` +
        `after its index${layout.maxEntries ? ` for maxEntries ${layout.maxEntries}` : ''} (${STATUS_NAMES[r] ?? r}); raise maxBytes or lower maxEntries/segments`,
    );
  }
  if (new Uint32Array(ex.memory.buffer)[(r + Header.MAGIC) >>> 2] !== MAGIC) throw new Error('arenacache: arena header is corrupt');
}

/**
 * A shared memory whose maximum is the arena's size, so the arena never grows (every thread's
 * views stay valid) and no more address space is reserved than it needs. The header offset comes
 * from a probe instance over a one-page memory.
 */
async function sharedMemory(module: WebAssembly.Module, layout: Layout, threads: number): Promise<WebAssembly.Memory> {
  let pages = MAX_PAGES;
  try {
    const probeMemory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    const probe = (await WebAssembly.instantiate(module, { env: { memory: probeMemory } })).exports as unknown as CoreExports;
    // The core sizes the arena itself: the host never retypes the layout rules.
    const end = probe.arena_size(
      layout.maxBytes >>> 0, layout.segments, threads, layout.maxKeyBytes, layout.maxValueBytes, layout.maxEntries,
      POLICIES[layout.policy], initFlags(layout),
    );
    // An arena past the limit, or arguments the core refuses: init reports them properly.
    if (end > 0 && end < ARENA_END_LIMIT) pages = Math.max(1, Math.ceil(end / PAGE_BYTES));
  } catch {
    // A module that cannot run over a one-page memory: keep the module's own maximum.
  }
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: pages, shared: true });
  } catch (e) {
    throw new RangeError(`arenacache: cannot reserve ${pages * PAGE_BYTES} bytes of shared WebAssembly memory (${(e as Error).message})`);
  }
}

/** A slot's flags: whether the thread may block in Atomics.wait, and what its eviction log records. */
export function slotFlags(canBlock: boolean | undefined, logs: boolean, removals: boolean): number {
  return ((canBlock ?? defaultCanBlock()) ? SlotFlag.CAN_WAIT : 0) |
    (logs ? SlotFlag.LOG_KEYS_AND_VALUES | (removals ? SlotFlag.LOG_REMOVALS : 0) : 0);
}

/**
 * Whether this thread may block in Atomics.wait. Browsers forbid it on the main (window) thread;
 * workers and server runtimes (Node, Deno, Bun) allow it. Asked of the engine itself: Atomics.wait
 * checks "may this agent suspend" before comparing the value, so a probe whose value differs
 * returns 'not-equal' at once where blocking is allowed and throws where it is not.
 */
function defaultCanBlock(): boolean {
  if (typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object') {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      return true;
    } catch {
      return false;
    }
  }
  const g = globalThis as { window?: unknown; document?: unknown };
  return !(typeof g.window !== 'undefined' && typeof g.document !== 'undefined');
}
