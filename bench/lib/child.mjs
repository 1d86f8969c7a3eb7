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
