#!/usr/bin/env node
// Demo: a local etcd and three arenacache nodes on loopback, joined through etcd.
//
//   node scripts/cluster.mjs            start them; Ctrl-C (or SIGTERM) stops them all
//   node scripts/cluster.mjs --smoke    start, set on one node, get from the others, stop, exit 0/1
//
// Ports (defaults): etcd client 2379 (peer 2380); node i gRPC 7070+i, HTTP 7080+i (i = 0, 1, 2).
// Logs and etcd's data go to a temporary directory that is removed at the end (--keep keeps it).
// Needs `npm run build` first and the `etcd` binary (Debian/Ubuntu: apt-get install etcd-server).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist/node/cli.js');
const ETCD = process.env.ETCD_BIN ?? 'etcd';

const { values: opt } = parseArgs({
  options: {
    nodes: { type: 'string', default: '3' },
    'etcd-port': { type: 'string', default: '2379' },
    'etcd-peer-port': { type: 'string' },
    'grpc-port': { type: 'string', default: '7070' },
    'http-port': { type: 'string', default: '7080' },
    origin: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(`usage: node scripts/cluster.mjs [--nodes 3] [--etcd-port 2379] [--etcd-peer-port 2380]
                              [--grpc-port 7070] [--http-port 7080] [--origin ORIGIN] [--smoke] [--keep]
  Starts etcd and N nodes (node i: gRPC --grpc-port+i, HTTP --http-port+i; 0 = any free port)
  registered in etcd service "demo". Ctrl-C stops the nodes (gracefully), then etcd.
  --origin   origin of the nodes' default group (none | http(s)://host/{key} | dir:PATH | module:FILE)
  --smoke    set a key on node 1, read it from every node, print the rings, stop everything
  --keep     keep the log directory`);
  process.exit(0);
}

const count = Number(opt.nodes);
const etcdPort = Number(opt['etcd-port']);
const etcdPeerPort = Number(opt['etcd-peer-port'] ?? etcdPort + 1);
const grpcBase = Number(opt['grpc-port']);
const httpBase = Number(opt['http-port']);
if (!(Number.isInteger(count) && count > 0) || ![etcdPort, etcdPeerPort, grpcBase, httpBase].every((n) => Number.isInteger(n) && n >= 0 && n < 65536)) {
  console.error('cluster: --nodes must be a positive integer and the ports integers in 0..65535');
  process.exit(2);
}
if (!existsSync(CLI)) {
  console.error(`cluster: ${CLI} is missing; run \`npm run build\` first`);
  process.exit(2);
}
const probe = spawnSync(ETCD, ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.error(`cluster: cannot run \`${ETCD} --version\`; install etcd (Debian/Ubuntu: sudo apt-get install etcd-server) or set ETCD_BIN`);
  process.exit(2);
}

// Every fixed port must be free before anything starts: the usual culprit is the quickstart node
// (`npm start`, gRPC 7070 / HTTP 7080) still running in another terminal.
async function portInUse(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err) => resolve(err.code === 'EADDRINUSE'));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}
const wanted = [
  [etcdPort, 'etcd client', '--etcd-port'],
  [etcdPeerPort, 'etcd peer', '--etcd-peer-port'],
  ...Array.from({ length: count }, (_, i) => [
    [grpcBase && grpcBase + i, `node${i + 1} gRPC`, '--grpc-port'],
    [httpBase && httpBase + i, `node${i + 1} HTTP`, '--http-port'],
  ]).flat(),
];
for (const [port, what, flag] of wanted) {
  if (port && (await portInUse(port))) {
    console.error(
      `cluster: port ${port} (${what}) is already in use on 127.0.0.1. ` +
        (port === 7070 || port === 7080 ? 'Is the quickstart node (npm start) still running? Stop it (Ctrl-C), or ' : '') +
        `choose other ports (${flag} BASE; 0 = any free port).`,
    );
    process.exit(2);
  }
}

const work = mkdtempSync(join(tmpdir(), 'arenacache-cluster-'));
const etcdUrl = `http://127.0.0.1:${etcdPort}`;
const children = []; // { name, child, exited }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(name, cmd, args) {
  const log = createWriteStream(join(work, `${name}.log`));
  // Own process group: a Ctrl-C in the terminal reaches only this script, which stops the
  // children in order (nodes first, so they can revoke their leases while etcd is up).
  const child = spawn(cmd, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const entry = { name, child, exited, exit: null, ready: null };
  // A node logs one JSON line {"msg":"ready","httpAddress":...,"grpcAddress":...} once it is up.
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const o = JSON.parse(line);
        if (o.msg === 'ready') entry.ready = o;
      } catch {}
    }
  });
  exited.then((e) => (entry.exit = e));
  children.push(entry);
  return entry;
}

async function stopChild(entry, graceMs = 15_000) {
  if (entry.exit) return entry.exit;
  try {
    process.kill(entry.child.pid, 'SIGTERM');
  } catch {}
  const t = setTimeout(() => {
    try {
      process.kill(entry.child.pid, 'SIGKILL');
    } catch {}
  }, graceMs);
  const e = await entry.exited;
  clearTimeout(t);
  return e;
}

let stopping = null;
function stopAll() {
  stopping ??= (async () => {
    const nodes = children.filter((c) => c.name !== 'etcd');
    const exits = await Promise.all(nodes.map((n) => stopChild(n)));
    nodes.forEach((n, i) => console.log(`stopped ${n.name} (exit ${exits[i].code ?? exits[i].signal})`));
    const etcd = children.find((c) => c.name === 'etcd');
    if (etcd) {
      await stopChild(etcd);
      console.log('stopped etcd');
    }
    if (opt.keep) console.log(`logs kept in ${work}`);
    else rmSync(work, { recursive: true, force: true });
  })();
  return stopping;
}
process.on('exit', () => {
  for (const c of children) {
    if (!c.exit) {
      try {
        process.kill(c.child.pid, 'SIGKILL');
      } catch {}
    }
  }
});

/** The error a child logged last (e.g. "listen EADDRINUSE: address already in use 127.0.0.1:7080"). */
function lastError(entry) {
  try {
    const lines = readFileSync(join(work, `${entry.name}.log`), 'utf8').trim().split('\n').reverse();
    for (const line of lines) {
      let o;
      try {
        o = JSON.parse(line);
      } catch {
        continue;
      }
      if (o.level === 'fatal' || o.level === 'error') return `: ${o.err ?? o.msg}`;
    }
  } catch {}
  return '';
}

async function waitFor(what, cond, ms) {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await cond()) return;
    } catch {}
    for (const c of children) if (c.exit) throw new Error(`${c.name} exited (${JSON.stringify(c.exit)})${lastError(c)}; see ${join(work, `${c.name}.log`)}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const nodeEntries = () => children.filter((c) => c.name !== 'etcd');
const httpUrl = (i) => `http://${nodeEntries()[i].ready.httpAddress}`;
const getJson = async (url) => (await fetch(url, { signal: AbortSignal.timeout(2000) })).json();

async function main() {
  console.log(`starting etcd on ${etcdUrl} (logs in ${work})`);
  start('etcd', ETCD, [
    '--name=demo',
    `--data-dir=${join(work, 'etcd-data')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
    `--initial-cluster=demo=http://127.0.0.1:${etcdPeerPort}`,
    '--log-level=warn',
    '--logger=zap',
  ]);
  await waitFor('etcd', async () => (await getJson(`${etcdUrl}/health`)).health === 'true', 20_000);

  const ids = [];
  for (let i = 0; i < count; i++) {
    const id = `node${i + 1}`;
    ids.push(id);
    const args = [
      CLI, 'serve',
      '--id', id,
      '--grpc-port', String(grpcBase === 0 ? 0 : grpcBase + i),
      '--http-port', String(httpBase === 0 ? 0 : httpBase + i),
      '--etcd', etcdUrl,
      '--etcd-service', 'demo',
    ];
    if (opt.origin) args.push('--origin', opt.origin);
    start(id, process.execPath, args);
  }
  const want = ids.join(',');
  await waitFor('every node ready with the full ring', async () => {
    if (!nodeEntries().every((n) => n.ready)) return false;
    for (let i = 0; i < count; i++) {
      const m = await getJson(`${httpUrl(i)}/v1/members`);
      if (!m.ready || m.members.map((x) => x.id).join(',') !== want) return false;
    }
    return true;
  }, 30_000);

  console.log(`\n${count} nodes up, one ring [${want}]:`);
  for (let i = 0; i < count; i++) console.log(`  ${ids[i]}  HTTP ${httpUrl(i)}  gRPC ${nodeEntries()[i].ready.grpcAddress}`);

  if (opt.smoke) {
    const key = `smoke-${Date.now()}`;
    const put = await fetch(`${httpUrl(0)}/v1/groups/default/keys/${key}`, { method: 'PUT', body: 'hello from node1' });
    if (put.status !== 204) throw new Error(`PUT on node1 answered ${put.status}`);
    for (let i = 0; i < count; i++) {
      const r = await fetch(`${httpUrl(i)}/v1/groups/default/keys/${key}`);
      const body = await r.text();
      console.log(`  GET ${key} from ${ids[i]}: ${r.status} ${JSON.stringify(body)} (source ${r.headers.get('x-arenacache-source')})`);
      if (r.status !== 200 || body !== 'hello from node1') throw new Error(`GET from ${ids[i]} failed`);
    }
    console.log('smoke test passed; stopping');
    await stopAll();
    return 0;
  }

  console.log(`\ntry:
  curl -X PUT --data-binary 'hello' ${httpUrl(0)}/v1/groups/default/keys/greeting
  curl ${httpUrl(1)}/v1/groups/default/keys/greeting
  curl ${httpUrl(2)}/v1/members
  node dist/node/cli.js members --url ${httpUrl(2)}

Ctrl-C stops everything.`);
  await new Promise((resolveStop) => {
    const onSignal = () => {
      console.log('\nstopping...');
      stopAll().then(resolveStop);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (err) => {
    console.error(`cluster: ${err.message}`);
    opt.keep = true; // keep the logs to look at
    await stopAll();
    process.exit(1);
  },
);
