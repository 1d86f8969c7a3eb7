// Cluster nodes as child processes (sections/cluster-node.mjs), driven over IPC.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const NODE = fileURLToPath(new URL('../sections/cluster-node.mjs', import.meta.url));
const DIST = new URL('../../dist/cluster/index.js', import.meta.url);

/** `{ ok: true }` when the cluster layer is built and exports what the bench drives. */
export async function clusterSupport() {
  if (!existsSync(fileURLToPath(DIST))) return { ok: false, reason: 'dist/cluster/index.js not built (src/cluster; run npm run build)' };
  try {
    const m = await import(DIST.href);
    for (const name of ['Cluster', 'ManualMembership', 'Ring']) if (typeof m[name] !== 'function') return { ok: false, reason: `dist/cluster/index.js exports no ${name}` };
    return { ok: true, mod: m };
  } catch (e) {
    return { ok: false, reason: `importing dist/cluster/index.js failed: ${e.message.split('\n')[0]}` };
  }
}

class NodeProc {
  constructor(id) {
    this.id = id;
    this.child = fork(NODE, [], { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    this.stderr = '';
    this.child.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
    this.waiters = [];
    this.exited = false;
    this.child.on('message', (m) => {
      const i = this.waiters.findIndex((w) => w.type === m.type || m.type === 'error');
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        if (m.type === 'error') w.reject(new Error(`${id}: ${m.message}`));
        else w.resolve(m);
      }
    });
    this.child.on('exit', (code, sig) => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error(`node ${id} exited (${sig ?? code}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`));
    });
  }
  wait(type, timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
      const w = { type, resolve, reject };
      this.waiters.push(w);
      setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) {
          this.waiters.splice(i, 1);
          reject(new Error(`node ${this.id}: no '${type}' within ${timeoutMs} ms`));
        }
      }, timeoutMs).unref();
    });
  }
  call(msg, type, timeoutMs) {
    if (this.exited || !this.child.connected) return Promise.reject(new Error(`node ${this.id} is gone: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`));
    const p = this.wait(type, timeoutMs);
    // A child that dies between the check and the write reports EPIPE here: reject, don't crash.
    this.child.send(msg, (err) => {
      if (err) {
        const i = this.waiters.findIndex((w) => w.type === type);
        if (i >= 0) this.waiters.splice(i, 1)[0].reject(err);
      }
    });
    return p;
  }
  async close() {
    if (this.exited) return;
    try {
      await this.call({ cmd: 'close' }, 'closed', 10_000);
    } catch {}
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

/** Starts `ids.length` nodes, each bound to 127.0.0.1:0, and gives them all the full membership. */
export async function startNodes(ids, { clients = {}, herdDelayMs } = {}) {
  const nodes = ids.map((id) => new NodeProc(id));
  try {
    await Promise.all(nodes.map((n) => n.wait('booted')));
    const listening = await Promise.all(nodes.map((n) => n.call({ cmd: 'init', id: n.id, clients: clients[n.id] ?? [], herdDelayMs }, 'listening')));
    const members = listening.map((l) => l.self);
    await Promise.all(nodes.map((n) => n.call({ cmd: 'members', nodes: members }, 'ready')));
    return { nodes, members, close: () => Promise.all(nodes.map((n) => n.close())) };
  } catch (e) {
    await Promise.all(nodes.map((n) => n.close()));
    throw e;
  }
}
