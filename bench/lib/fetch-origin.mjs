// Origin module of the cluster section's owner node (`--config` with `origin: {type: module,
// file: this, options: {size}}`): every key exists, its value is fetchValue(key, size).
import { fetchValue } from './fetch-values.mjs';

export function load(key, ctx) {
  return fetchValue(key, ctx.options.size);
}
