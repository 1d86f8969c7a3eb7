/** The test suite's Prometheus text parser accepts what Prometheus accepts and nothing else. */
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseFloatGo, parsePrometheus } from '../helpers/prometheus.js';

describe('parsePrometheus', () => {
  it('reads NaN and infinities in any letter case, as Go ParseFloat does (prom-client prints "Nan")', () => {
    const text = [
      '# HELP lag event loop lag',
      '# TYPE lag gauge',
      'lag Nan',
      '# TYPE up gauge',
      'up{a="1"} +Inf',
      'up{a="2"} -inf',
      'up{a="3"} Infinity',
      'up{a="4"} NaN 1700000000000',
      'up{a="5"} 1.5e-3',
      '',
    ].join('\n');
    const { samples, help } = parsePrometheus(text);
    expect(samples.map((s) => s.value)).toEqual([NaN, Infinity, -Infinity, Infinity, NaN, 0.0015]);
    expect(samples[4]!.timestamp).toBe(1700000000000);
    expect(help.get('lag')).toBe('event loop lag');
  });

  it('unescapes label values and accepts a trailing comma', () => {
    const { samples } = parsePrometheus('# TYPE m counter\nm_total{path="a\\\\b",q="say \\"hi\\"",n="x\\ny",} 3\n');
    expect(samples[0]).toEqual({ name: 'm_total', labels: { path: 'a\\b', q: 'say "hi"', n: 'x\ny' }, value: 3 });
  });

  it('rejects what Prometheus would reject', () => {
    for (const bad of [
      '# TYPE m gauge\nm garbage\n',
      '# TYPE m gauge\nm\n',
      '# TYPE m gauge\nm{a=1} 1\n',
      '# TYPE m gauge\nm{a="1" 1\n',
      '# TYPE m gauge\nm 1 2 3\n',
      'untyped_sample 1\n',
      '# TYPE m gauges\nm 1\n',
      '# TYPE m gauge\nm{a="1",a="2"} 1\n',
    ]) {
      expect(() => parsePrometheus(bad), JSON.stringify(bad)).toThrow();
    }
    expect(() => parseFloatGo('1,5')).toThrow();
  });

  it("parses prom-client's own output, the NaN of a gauge included", async () => {
    const r = new Registry();
    new Gauge({ name: 'g_nan', help: 'a NaN', registers: [r] }).set(NaN);
    new Gauge({ name: 'g_inf', help: 'an infinity', labelNames: ['x'], registers: [r] }).set({ x: 'a"b' }, Infinity);
    const { samples } = parsePrometheus(await r.metrics());
    expect(samples.find((s) => s.name === 'g_nan')!.value).toBeNaN();
    expect(samples.find((s) => s.name === 'g_inf')).toMatchObject({ labels: { x: 'a"b' }, value: Infinity });
  });
});
