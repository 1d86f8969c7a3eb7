// The libraries compared in the core section. Each `create(capacity)` returns the library's own
// object (get/set/size called directly by the hot loops, so call sites stay monomorphic in the
// child process that runs that one library).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Map bounded FIFO-style: plain Map.get, oldest insertion evicted (not an LRU: a floor for JS cost). */
class BoundedMap {
  constructor(max) {
    this.max = max;
    this.m = new Map();
    this.it = this.m.keys(); // persistent iterator: always at the oldest live insertion
  }
  get(k) {
    return this.m.get(k);
  }
  set(k, v) {
    const m = this.m;
    if (m.size >= this.max && !m.has(k)) {
      let n = this.it.next();
      if (n.done) {
        this.it = m.keys();
        n = this.it.next();
      }
      m.delete(n.value);
    }
    m.set(k, v);
    return this;
  }
  get size() {
    return this.m.size;
  }
}

export const PEERS = [
  {
    id: 'lru-cache',
    label: 'lru-cache',
    pkg: 'lru-cache',
    policy: 'strict LRU',
    async create(max) {
      const { LRUCache } = await import('lru-cache');
      return new LRUCache({ max });
    },
  },
  {
    id: 'lru.min',
    label: 'lru.min',
    pkg: 'lru.min',
    policy: 'strict LRU',
    async create(max) {
      const { createLRU } = await import('lru.min');
      return createLRU({ max });
    },
  },
  {
    id: 'mnemonist-lrucache',
    label: 'mnemonist LRUCache',
    pkg: 'mnemonist',
    policy: 'strict LRU',
    async create(max) {
      const { LRUCache } = await import('mnemonist');
      return new LRUCache(max);
    },
  },
  {
    id: 'mnemonist-lrumap',
    label: 'mnemonist LRUMap',
    pkg: 'mnemonist',
    policy: 'strict LRU',
    async create(max) {
      const { LRUMap } = await import('mnemonist');
      return new LRUMap(max);
    },
  },
  {
    id: 'tiny-lru',
    label: 'tiny-lru',
    pkg: 'tiny-lru',
    policy: 'strict LRU',
    async create(max) {
      const { lru } = await import('tiny-lru');
      return lru(max);
    },
  },
  {
    id: 'quick-lru',
    label: 'quick-lru',
    pkg: 'quick-lru',
    policy: 'two generations (holds maxSize..2×maxSize)',
    async create(max) {
      const { default: QuickLRU } = await import('quick-lru');
      return new QuickLRU({ maxSize: max });
    },
  },
  {
    id: 'map',
    label: 'Map (bounded, FIFO)',
    pkg: null,
    policy: 'FIFO (Map insertion order), not LRU',
    async create(max) {
      return new BoundedMap(max);
    },
  },
];

export const ARENA = {
  id: 'arenacache',
  label: 'ArenaCache',
  pkg: 'arenacache',
  policy: 'segmented LRU (16 segments, LRU within each)',
};

export const ALL_IDS = [ARENA.id, ...PEERS.map((p) => p.id)];

/** What the core section compares by default (issue 17); `--libs` may add the others. */
export const DEFAULT_IDS = [ARENA.id, 'lru-cache', 'mnemonist-lrucache', 'lru.min', 'tiny-lru', 'quick-lru'];

export function peerById(id) {
  return id === ARENA.id ? ARENA : PEERS.find((p) => p.id === id);
}

/** Version of an installed package, read from its package.json. */
export function pkgVersion(name) {
  if (!name) return process.version;
  try {
    const pj = require.resolve(`${name}/package.json`);
    return JSON.parse(readFileSync(pj, 'utf8')).version;
  } catch {
    // packages whose exports hide package.json: walk from the main entry
    try {
      let dir = require.resolve(name);
      for (let i = 0; i < 6; i++) {
        dir = dir.slice(0, dir.lastIndexOf('/'));
        try {
          const j = JSON.parse(readFileSync(dir + '/package.json', 'utf8'));
          if (j.name === name) return j.version;
        } catch {}
      }
    } catch {}
    return 'not installed';
  }
}
