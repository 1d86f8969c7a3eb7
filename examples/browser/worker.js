// The worker half of the shared-arena scenario in a module worker: attaches to { module, memory }.
import { ArenaCache } from '../../dist/core/index.js';
import { serveShared } from '../scenario.mjs';

serveShared(ArenaCache, (handler) => (self.onmessage = (e) => handler(e.data)), (msg) => self.postMessage(msg));
