// Policy specs: a short text form ('clock:bits=2,k=4') ↔ options ↔ a constructed, optionally
// segmented simulator. The bench sweeps and the tests name configurations this way.
import { Lru } from './lru.mjs';
import { Clock } from './clock.mjs';
import { S3Fifo } from './s3fifo.mjs';
import { Sieve } from './sieve.mjs';
import { Segmented } from './segmented.mjs';

export const POLICIES = { lru: Lru, clock: Clock, s3fifo: S3Fifo, sieve: Sieve };

// Which text keys map to which constructor options, and how values parse.
const KNOBS = {
  bits: ['bits', Number],
  k: ['maxReinserts', (v) => (v === 'inf' || v === '∞' ? Infinity : Number(v))],
  s: ['small', (v) => Number(v) / 100], // percent of the bytes
  t: ['threshold', Number],
  ghost: ['ghost', String], // exact | approx
};

/** 'clock:bits=2,k=4' → { policy: 'clock', options: { bits: 2, maxReinserts: 4 }, text }. */
export function parseSpec(text) {
  const [policy, rest = ''] = text.split(':');
  if (!POLICIES[policy]) throw new RangeError(`unknown policy '${policy}' (${Object.keys(POLICIES).join(', ')})`);
  const options = {};
  for (const kv of rest.split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (!KNOBS[k]) throw new RangeError(`unknown knob '${k}' in '${text}' (${Object.keys(KNOBS).join(', ')})`);
    options[KNOBS[k][0]] = KNOBS[k][1](v);
  }
  return { policy, options, text };
}

/**
 * A simulator for `spec` with a total byte budget `capacity` over keys [0, universe):
 * `segments` = 1 is one cache; more wraps it in Segmented (keys hashed by `seed`).
 * `meanSize` sizes S3-FIFO's approximate ghost (slots = M's bytes / mean entry size); `hashOf`
 * replaces the seeded segment hash (see Segmented).
 */
export function build(spec, { capacity, universe, segments = 16, seed = 0x811c9dc5, hashOf = null, meanSize = 1, onEvict = null }) {
  const s = typeof spec === 'string' ? parseSpec(spec) : spec;
  const Ctor = POLICIES[s.policy];
  const create = (o) => new Ctor({ ...s.options, meanSize, ...o });
  if (segments === 1) return create({ capacity, universe, seed, onEvict });
  return new Segmented({ capacity, universe, segments, seed, hashOf, create, onEvict });
}
