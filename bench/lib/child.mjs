// Run a bench script in a child process; it sends {type:'progress'|'result'|'unavailable'} over IPC.
import { fork } from 'node:child_process';

const live = new Set();
export function killChildren() {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
}

export function runChild(script, arg, { execArgv = ['--expose-gc'], onProgress, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    const child = fork(script, [JSON.stringify(arg)], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced' });
    live.add(child);
    let outcome = null;
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 20000) stderr = stderr.slice(-20000);
    });
    const timer = setTimeout(() => {
      outcome = outcome ?? { type: 'error', reason: `timed out after ${Math.round(timeoutMs / 1000)} s` };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m) => {
      if (m?.type === 'progress') onProgress?.(m.text);
      else if (m?.type === 'result' || m?.type === 'unavailable') outcome = m;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (!outcome) {
        const tail = stderr.trim().split('\n').slice(-4).join(' | ');
        outcome = { type: 'error', reason: `child exited with ${signal ?? 'code ' + code}${tail ? ': ' + tail : ''}` };
      }
      resolve(outcome);
    });
  });
}

/**
 * A long-lived child that answers calls: `const m = startMember(script, arg)`, then
 * `await m.call(cmd, args)` any number of times, `m.close()` at the end. The child side is
 * `serve()` in bench/lib/serve.mjs. Used where measurements must interleave across libraries:
 * each library keeps its heap (and its full cache) in its own process between calls.
 */
export function startMember(script, arg, { execArgv = ['--expose-gc'], onProgress, timeoutMs = 600_000 } = {}) {
  const child = fork(script, [JSON.stringify(arg)], { execArgv, stdio: ['ignore', 'inherit', 'pipe', 'ipc'], serialization: 'advanced' });
  live.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-20000);
  });
  const pending = new Map();
  let nextId = 1;
  let exited = null;
  const failAll = (reason) => {
    for (const p of pending.values()) p.reject(new Error(reason));
    pending.clear();
  };
  child.on('message', (m) => {
    if (m?.type === 'progress') return onProgress?.(m.text);
    const p = pending.get(m?.id);
    if (!p) return;
    pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve(m.data);
    else p.reject(Object.assign(new Error(m.error), { unavailable: !!m.unavailable }));
  });
  child.on('exit', (code, signal) => {
    live.delete(child);
    const tail = stderr.trim().split('\n').slice(-4).join(' | ');
    exited = `child exited with ${signal ?? 'code ' + code}${tail ? ': ' + tail : ''}`;
    failAll(exited);
  });
  return {
    call(cmd, args = {}, { timeout = timeoutMs } = {}) {
      if (exited) return Promise.reject(new Error(exited));
      return new Promise((resolve, reject) => {
        const id = nextId++;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${cmd} timed out after ${Math.round(timeout / 1000)} s`));
          child.kill('SIGKILL');
        }, timeout);
        pending.set(id, { resolve, reject, timer });
        child.send({ id, cmd, args });
      });
    },
    close() {
      if (!exited) child.kill('SIGKILL');
    },
  };
}
