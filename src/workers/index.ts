/** arenacache/workers: one shared arena across Node worker_threads (see docs/threads.md). */
export {
  shareWithWorker, attachInWorker, isShareMessage, watchdogReady, stopWatchdog,
  type ShareMessage, type ShareOptions,
} from './node.js';
export { ArenaCache, type SharedArenaHandle, type AttachOptions, type SharedOptions } from '../core/arena-cache.js';
