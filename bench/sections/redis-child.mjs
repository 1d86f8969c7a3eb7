// Redis + ioredis GET loops, the same shape as the cluster's peer fetch loops (own process).
import { summarize, median } from '../lib/stats.mjs';
import { closedLoop } from '../lib/closed-loop.mjs';

const cfg = JSON.parse(process.argv[2]);
const step = (text) => process.send?.({ type: 'progress', text });
const { default: Redis } = await import('ioredis');

const loop = (client, keys, inflight, durationMs) => closedLoop(keys, inflight, durationMs, (k) => client.getBuffer(k));

const out = [];
for (const c of cfg.cases) {
  const client = new Redis({ host: '127.0.0.1', port: cfg.port, enableAutoPipelining: !!c.autoPipelining, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  const keys = [];
  const value = Buffer.alloc(c.size, 7);
  const pipe = client.pipeline();
  for (let i = 0; i < c.keyCount; i++) {
    const k = `r${c.size}:${i}`;
    keys.push(k);
    pipe.set(k, value);
  }
  await pipe.exec();
  const runs = [];
  for (let r = 0; r < cfg.warmup + cfg.reps; r++) {
    step(`redis ${c.size} B, ${c.inflight} in flight${c.autoPipelining ? ', auto-pipelining' : ''}: ${r < cfg.warmup ? 'warm-up' : `rep ${r - cfg.warmup + 1}/${cfg.reps}`}`);
    const x = await loop(client, keys, c.inflight, cfg.durationMs);
    if (r >= cfg.warmup) runs.push(x);
  }
  await client.quit();
  out.push({
    ...c,
    opsPerSec: summarize(runs.map((x) => x.opsPerSec)),
    p50Ms: median(runs.map((x) => x.p50Ms)),
    p99Ms: median(runs.map((x) => x.p99Ms)),
    errors: runs.reduce((a, x) => a + x.errors, 0),
  });
}
process.send({ type: 'result', data: out }, () => process.exit(0));
