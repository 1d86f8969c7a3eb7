// Spawning fixture workers that share an arena, with bounded waits that fail instead of hanging.
import { Worker } from 'node:worker_threads';
import { shareWithWorker, type ShareOptions } from '../../src/workers/node.js';
import type { ArenaCache } from '../../src/core/index.js';

export interface Spawned {
  worker: Worker;
  tag: number;
  messages: unknown[];
  /** The first message (past or future) matching `pred`, or a rejection after `ms`. */
  next<T = Record<string, unknown>>(pred: (m: Record<string, unknown>) => boolean, ms: number, what: string): Promise<T>;
  exited: Promise<number>;
}

const fixtures = new URL('./fixtures/', import.meta.url);

export function spawn(cache: ArenaCache, fixture: string, workerData: unknown, options: ShareOptions = {}): Spawned {
  const worker = new Worker(new URL(fixture, fixtures), { workerData });
  const messages: unknown[] = [];
  const waiters: { pred: (m: Record<string, unknown>) => boolean; resolve: (m: unknown) => void }[] = [];
  let failure: Error | undefined;
  const fail = (e: Error) => {
    failure = e;
    for (const w of waiters.splice(0)) w.resolve(undefined);
  };
  worker.on('message', (m: Record<string, unknown>) => {
    messages.push(m);
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i].pred(m)) waiters.splice(i, 1)[0].resolve(m);
    }
  });
  worker.on('error', (e) => fail(e));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  const tag = shareWithWorker(cache, worker, options);
  return {
    worker,
    tag,
    messages,
    exited,
    next<T>(pred: (m: Record<string, unknown>) => boolean, ms: number, what: string): Promise<T> {
      const found = messages.find((m) => pred(m as Record<string, unknown>));
      if (found) return Promise.resolve(found as T);
      return within(
        new Promise<T>((resolve, reject) => {
          if (failure) return reject(failure);
          waiters.push({
            pred,
            resolve: (m) => (m === undefined ? reject(failure ?? new Error('worker failed')) : resolve(m as T)),
          });
        }),
        ms,
        what,
      );
    },
  };
}

export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every few ms until it holds; rejects after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}
