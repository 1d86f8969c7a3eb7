/**
 * Sharing one arena with Node worker_threads. The core layer stays runtime-agnostic; this module
 * is the Node glue: it names each attached worker by its threadId and releases the worker's
 * thread slot (recovering any segment lock it died holding) when it exits.
 *
 *   // parent                                   // worker
 *   const { cache } = await ArenaCache.createShared({ maxBytes, threads });
 *   const worker = new Worker(url);             const cache = await attachInWorker();
 *   shareWithWorker(cache, worker);             cache.get('k'); ...
 *
 * Dead-thread recovery has two independent triggers (either suffices, both are harmless):
 *  - the worker's 'exit' event on the parent calls `cache.releaseThread(threadId)`;
 *  - a watchdog thread holds one end of a MessageChannel whose other end lives in the worker; when
 *    the worker dies the channel closes and the watchdog releases the slot. This one works even
 *    while the parent's event loop is stuck, e.g. blocked in a cache call waiting for the very
 *    lock the dead worker held (the parent cannot run its 'exit' listener until that call returns).
 * A worker that ends by itself (its event loop empties, or process.exit()) closes its own cache
 * from its process 'exit' event, on its own thread.
 *
 * Releasing a thread that is still running would take its locks from under it, so both triggers
 * rely on the runtime reporting a worker's end only once its thread has stopped. Node and Bun do
 * (tested). Deno 2 does not: it emits 'exit' when terminate() is called, while a busy worker keeps
 * running (its termination is cooperative: the thread stops at its next event-loop turn, so it can
 * never die inside a core call and leave a lock held). Under Deno the helper therefore does not
 * release on 'exit' and starts no watchdog; a terminated Deno worker's slot is not reclaimed
 * (size `threads` for that, or let workers end by themselves). See docs/threads.md.
 */
import { Worker, MessageChannel, MessagePort, parentPort, threadId, isMainThread } from 'node:worker_threads';
import { ArenaCache, type AttachOptions, type SharedArenaHandle } from '../core/arena-cache.js';
import { Header } from '../core/abi.js';

const MESSAGE_TYPE = 'arenacache:share';

/** Whether this runtime emits a worker's 'exit' only after its thread has stopped (not Deno 2). */
const EXIT_MEANS_STOPPED = !('Deno' in globalThis);

/** The message `shareWithWorker` posts to the worker (consumed by `attachInWorker`). */
export interface ShareMessage {
  type: typeof MESSAGE_TYPE;
  handle: SharedArenaHandle;
  /** The worker's end of the watchdog channel, or null without a watchdog. */
  watch: MessagePort | null;
}

export interface ShareOptions {
  /**
   * Release the worker's slot (recovering any lock it died holding) from its 'exit' event.
   * Default true, except under Deno, whose 'exit' can precede the thread's end.
   */
  releaseOnExit?: boolean;
  /**
   * Also start (once per thread) a watchdog thread that releases the worker's slot as soon as the
   * worker dies, even if this thread is blocked at that moment. Default: as releaseOnExit.
   */
  watchdog?: boolean;
}

/** True for the messages `shareWithWorker` posts (ignore them in your own 'message' handler). */
export function isShareMessage(message: unknown): message is ShareMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === MESSAGE_TYPE;
}

/**
 * Lets `worker` attach to the shared `cache` (the worker calls `attachInWorker()`), and arranges
 * for the worker's thread slot to be released when it exits or is terminated. Call it right after
 * creating the worker. Returns the tag (the worker's threadId) the worker attaches with.
 */
export function shareWithWorker(cache: ArenaCache, worker: Worker, options: ShareOptions = {}): number {
  if (!(cache instanceof ArenaCache) || !cache.shared) throw new TypeError('shareWithWorker: cache must come from ArenaCache.createShared or attach');
  const tag = worker.threadId;
  if (!Number.isInteger(tag) || tag < 0) throw new Error('shareWithWorker: the worker has already exited');
  const handle = cache.handle;
  const releaseOnExit = options.releaseOnExit ?? EXIT_MEANS_STOPPED;
  let watch: MessagePort | null = null;
  if (options.watchdog ?? releaseOnExit) {
    const channel = new MessageChannel();
    watchdog().watch(cache, handle, tag, channel.port1);
    watch = channel.port2;
  }
  if (releaseOnExit) {
    worker.once('exit', () => {
      try {
        cache.releaseThread(tag);
      } catch {
        // The cache was closed here; the watchdog (or nobody, if the arena is gone) handles it.
      }
    });
  }
  const message: ShareMessage = { type: MESSAGE_TYPE, handle, watch };
  worker.postMessage(message, watch ? [watch] : []);
  return tag;
}

// Keeps the worker's end of each watchdog channel reachable for the thread's lifetime: a port
// collected as garbage would close, and the watchdog would release a live thread.
const keepAlive = new Set<MessagePort>();

/**
 * In a worker: waits for the handle `shareWithWorker` posts and attaches to that arena, tagged
 * with this thread's threadId. Call it before adding your own parentPort 'message' listener that
 * might consume other messages first (or filter them out with `isShareMessage`). Pass `timeoutMs`
 * to fail instead of waiting forever when the parent never shares.
 */
export function attachInWorker(options: Omit<AttachOptions, 'tag'> & { timeoutMs?: number } = {}): Promise<ArenaCache> {
  const port = parentPort;
  if (isMainThread || port === null) return Promise.reject(new Error('attachInWorker: not in a worker thread'));
  const { timeoutMs, ...attachOptions } = options;
  return new Promise<ArenaCache>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onMessage = (message: unknown) => {
      if (!isShareMessage(message)) return;
      port.off('message', onMessage);
      if (timer !== undefined) clearTimeout(timer);
      if (message.watch) {
        message.watch.unref(); // must not keep the worker alive
        keepAlive.add(message.watch);
      }
      ArenaCache.attach(message.handle, { ...attachOptions, tag: threadId }).then((cache) => {
        // Ending by itself, the thread gives its slot back on its own (close is idempotent).
        process.once('exit', () => cache.close());
        resolve(cache);
      }, reject);
    };
    port.on('message', onMessage);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        port.off('message', onMessage);
        reject(new Error(`attachInWorker: no arena was shared with this worker within ${timeoutMs} ms`));
      }, timeoutMs);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Watchdog: one thread per process (per parent thread), started lazily and unref'd. It never takes
// a segment lock: release_slot only uses compare-exchange, so it cannot be blocked by the locks it
// recovers. It holds no thread slot (it passes an out-of-range `by`).

const WATCHDOG_SOURCE = `
const { parentPort } = require('node:worker_threads');
const arenas = new Map();
parentPort.on('message', (msg) => {
  if (msg.type === 'arena') {
    const instance = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory } });
    arenas.set(msg.id, instance.exports);
  } else if (msg.type === 'watch') {
    const ex = arenas.get(msg.id);
    msg.port.on('close', () => {
      const threads = new Uint32Array(ex.memory.buffer)[(ex.header() + ${Header.THREADS}) >> 2];
      for (let s = 0; s < threads; s++) ex.release_slot(s, msg.tag, 0xffffffff);
    });
    msg.port.on('message', () => {});
  } else if (msg.type === 'ping') {
    parentPort.postMessage({ type: 'pong', id: msg.id });
  }
});
`;

interface Watchdog {
  watch(cache: ArenaCache, handle: SharedArenaHandle, tag: number, port: MessagePort): void;
}

let current: (Watchdog & { worker: Worker }) | undefined;

function watchdog(): Watchdog {
  if (current) return current;
  const worker = new Worker(WATCHDOG_SOURCE, { eval: true, name: 'arenacache-watchdog' });
  worker.unref();
  const ids = new WeakMap<ArenaCache, number>();
  let next = 1;
  const dog = {
    worker,
    watch(cache: ArenaCache, handle: SharedArenaHandle, tag: number, port: MessagePort): void {
      let id = ids.get(cache);
      if (id === undefined) {
        id = next++;
        ids.set(cache, id);
        worker.postMessage({ type: 'arena', id, module: handle.module, memory: handle.memory });
      }
      worker.postMessage({ type: 'watch', id, tag, port }, [port]);
    },
  };
  worker.once('exit', () => {
    if (current === dog) current = undefined;
  });
  current = dog;
  return dog;
}

/**
 * Resolves once the watchdog has processed every registration posted so far (tests use it to
 * know the watchdog is armed before killing a worker). Resolves at once without a watchdog.
 */
export function watchdogReady(): Promise<void> {
  const dog = current;
  if (!dog) return Promise.resolve();
  const id = Math.random();
  return new Promise((resolve) => {
    const onMessage = (m: { type?: string; id?: number }) => {
      if (m.type === 'pong' && m.id === id) {
        dog.worker.off('message', onMessage);
        resolve();
      }
    };
    dog.worker.on('message', onMessage);
    dog.worker.postMessage({ type: 'ping', id });
  });
}

/** Stops the watchdog thread (it is unref'd, so a process never waits for it; tests tidy up). */
export async function stopWatchdog(): Promise<void> {
  const dog = current;
  current = undefined;
  if (dog) await dog.worker.terminate();
}
