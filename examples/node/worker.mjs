// The worker half of the shared-arena scenario under node:worker_threads.
import { parentPort } from 'node:worker_threads';
import { ArenaCache } from '../../dist/core/index.js';
import { serveShared } from '../scenario.mjs';

serveShared(ArenaCache, (handler) => parentPort.on('message', handler), (msg) => parentPort.postMessage(msg));
