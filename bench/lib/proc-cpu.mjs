// CPU time (user + system, µs) of another process, from /proc/<pid>/stat: how the cluster section
// bills the owner node and redis-server for the keys they served.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks;

/** µs of CPU `pid` has used so far (utime + stime, fields 14 and 15 of /proc/<pid>/stat). */
export function procCpuUs(pid) {
  ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / ticks;
}
