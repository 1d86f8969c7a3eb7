#!/usr/bin/env node
// arenacache benchmark suite: `npm run bench [-- --quick] [-- --only core,adversarial,threads,cluster,herd,ring,hung-peer,policies,snapshot,warm-restart]`.
// See docs/benchmarks.md for the method.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo, headerLines } from './lib/env.mjs';
import { progress } from './lib/progress.mjs';
import { killChildren } from './lib/child.mjs';
import { targetMark, textTable, mdTable } from './lib/report.mjs';
import { ALL_IDS } from './lib/peers.mjs';

const SECTIONS = ['core', 'adversarial', 'threads', 'cluster', 'herd', 'ring', 'hung-peer', 'policies', 'snapshot', 'warm-restart'];
const HERE = fileURLToPath(new URL('.', import.meta.url));

function usage() {
  return `usage: node bench/run.mjs [--quick] [--only ${SECTIONS.join(',')}] [--libs ${ALL_IDS.join(',')}] [--out DIR] [--no-write]
  --quick      smaller sizes, a few minutes (results named *-quick, never "latest")
  --only LIST  run only these sections (comma-separated)
  --libs LIST  core section: only these libraries (development aid; lru-cache is the reference)
  --out DIR    where results go (default bench/results)
  --no-write   print only, write no files`;
}

function parseArgs(argv) {
  const o = { quick: false, only: SECTIONS, out: join(HERE, 'results'), write: true, libs: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const eq = a.indexOf('=');
      if (eq > 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a.startsWith('--only')) o.only = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--libs')) o.libs = val().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a.startsWith('--out')) o.out = resolve(val());
    else if (a === '--no-write') o.write = false;
    else if (a === '--help' || a === '-h') {
      console.log(usage());
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${usage()}`);
  }
  for (const s of o.only) if (!SECTIONS.includes(s)) throw new Error(`unknown section '${s}' (sections: ${SECTIONS.join(', ')})`);
  for (const l of o.libs ?? []) if (!ALL_IDS.includes(l)) throw new Error(`unknown library '${l}' (libraries: ${ALL_IDS.join(', ')})`);
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(e.message);
  process.exit(2);
}

const cleanups = [];
const onSignal = async (sig) => {
  progress.clear();
  console.error(`\n${sig}: stopping children and servers`);
  killChildren();
  for (const c of cleanups.splice(0)) {
    try {
      await c();
    } catch {}
  }
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const started = Date.now();
const info = machineInfo();
const header = headerLines(info, opts);
console.log(header.join('\n'));
const subtitle = `${info.cpu}, ${info.cores} cores · node ${info.node} · V8 ${info.v8} · ${new Date().toISOString().slice(0, 10)}${opts.quick ? ' · --quick' : ''}`;

const results = {
  schema: 1,
  date: new Date().toISOString(),
  quick: opts.quick,
  args: process.argv.slice(2),
  machine: info,
  sections: {},
  targets: [],
};
const md = [`# arenacache benchmark results${opts.quick ? ' (--quick)' : ''}`, '', ...header.map((l) => `- ${l}`), ''];
const leadAt = md.length; // the sections' headline tables go here, above every section
const summaries = [];
const charts = [];
const base = `${results.date.slice(0, 10)}-${info.host}${opts.quick ? '-quick' : ''}${opts.only.length < SECTIONS.length ? '-' + opts.only.join('+') : ''}${opts.libs ? '-libs+' + opts.libs.join('+') : ''}`;
const chartFile = (c) => `${base}-${c.name}.svg`;

for (const name of opts.only.length ? SECTIONS.filter((s) => opts.only.includes(s)) : []) {
  const t0 = Date.now();
  progress.update(name, 'starting');
  let out;
  try {
    const mod = await import(`./sections/${name}.mjs`);
    out = await mod.run({
      quick: opts.quick,
      libs: opts.libs ? [...new Set(['lru-cache', ...opts.libs])].sort((a, b) => ALL_IDS.indexOf(a) - ALL_IDS.indexOf(b)) : null,
      progress: (text) => progress.update(name, text),
      onCleanup: (fn) => cleanups.push(fn),
      subtitle,
      info,
    });
  } catch (e) {
    out = { status: 'error', reason: e.stack ?? String(e), data: null, report: null, charts: [], targets: [] };
  }
  for (const c of cleanups.splice(0)) {
    try {
      await c();
    } catch {}
  }
  progress.clear();
  const secs = (Date.now() - t0) / 1000;
  results.sections[name] = { status: out.status, reason: out.reason, seconds: +secs.toFixed(1), data: out.data };
  if (out.report) {
    console.log(out.report.text.join('\n'));
    md.push(`## ${name}`, ...out.report.md);
    for (const c of out.charts ?? []) md.push(`![${c.alt}](${chartFile(c)})`, '');
  }
  if (out.status === 'not-available') {
    const line = `${name}: not available yet: ${out.reason}`;
    console.log(`\n${line}`);
    md.push(`## ${name}`, '', `**not available yet:** ${out.reason}`, '');
  } else if (out.status === 'error') {
    const line = `${name}: FAILED: ${out.reason}`;
    console.log(`\n${line}`);
    md.push(`## ${name}`, '', '**failed:**', '', '```', String(out.reason), '```', '');
  }
  for (const c of out.charts ?? []) charts.push({ ...c, section: name });
  results.sections[name].charts = (out.charts ?? []).map(chartFile);
  for (const t of out.targets ?? []) results.targets.push(t);
  if (out.summary?.rows?.length) summaries.push(out.summary);
  console.log(`(${name}: ${secs.toFixed(1)} s)`);
}

// headline tables (wins next to losses), printed last on the console and first in the Markdown
const lead = [];
for (const sm of summaries) {
  console.log(`\n${sm.title}\n` + textTable(sm.headers, sm.rows).map((l) => '  ' + l).join('\n'));
  if (sm.note) console.log('  ' + sm.note);
  lead.push(`## ${sm.title}`, '', ...mdTable(sm.headers, sm.rows), '', ...(sm.note ? [sm.note, ''] : []));
}
md.splice(leadAt, 0, ...lead);

// targets: goals reported against, never asserted
if (results.targets.length) {
  const rows = results.targets.map((t) => [t.section, t.goal, t.value, targetMark(t)]);
  console.log('\ntargets (goals, not assertions)\n' + textTable(['section', 'goal', 'reached figure', 'status'], rows, { leftAll: true }).map((l) => '  ' + l).join('\n'));
  md.push('## targets (goals, not assertions)', '', ...mdTable(['section', 'goal', 'figure reached', 'status'], rows), '');
}

const totalSecs = (Date.now() - started) / 1000;
results.seconds = +totalSecs.toFixed(1);
results.machine.loadavgEnd = (await import('node:os')).default.loadavg().map((x) => +x.toFixed(2));
md.push(`Run took ${totalSecs.toFixed(0)} s; load average at the end: ${results.machine.loadavgEnd.join(' ')}.`, '');

if (opts.write) {
  mkdirSync(opts.out, { recursive: true });
  const files = [];
  for (const c of charts) {
    writeFileSync(join(opts.out, chartFile(c)), c.svg);
    files.push(chartFile(c));
  }
  results.charts = [...files];
  writeFileSync(join(opts.out, `${base}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(opts.out, `${base}.md`), md.join('\n') + '\n');
  files.push(`${base}.json`, `${base}.md`);
  if (!opts.quick && opts.only.length === SECTIONS.length && !opts.libs) {
    writeFileSync(join(opts.out, 'latest.md'), md.join('\n') + '\n');
    files.push('latest.md');
  }
  console.log(`\nresults: ${files.map((f) => relative(process.cwd(), join(opts.out, f))).join(', ')}`);
}
console.log(`total ${totalSecs.toFixed(1)} s`);
process.exit(0);
