// The worker half of the shared-arena scenario: receives { module, memory } and attaches.
import { ArenaCache } from '../../dist/core/index.js';
import { serveShared } from '../scenario.mjs';

serveShared(ArenaCache, (handler) => (self.onmessage = (e: MessageEvent) => handler(e.data)), (msg) => self.postMessage(msg));
