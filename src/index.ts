/** arenacache: the package root. The core cache, then (as they land) the cluster layers. */
export * from './core/index.js';
