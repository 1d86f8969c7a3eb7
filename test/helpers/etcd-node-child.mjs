// A minimal "node" process for the discovery tests: runs the real EtcdMembership (compiled by
// test/helpers/etcd-node-build.ts) and reports on stdout, one JSON object per line:
//   {"type":"started","members":[ids]}   after start() resolved
//   {"type":"members","members":[ids]}   on every onChange
//   {"type":"event","event":{...}}       registered / lease-lost / revoked / ...
//   {"type":"closed"}                     after a graceful close (SIGTERM, SIGINT or stdin closed)
//   {"type":"error","message":"..."}      start failed (exit code 1)
// Env: ARENACACHE_DISCOVERY_MODULE (absolute path of the compiled discovery/index.js),
//      ARENACACHE_MEMBERSHIP_OPTIONS (JSON of EtcdMembershipOptions, without logger).
import { pathToFileURL } from 'node:url';

const modulePath = process.env.ARENACACHE_DISCOVERY_MODULE;
const options = JSON.parse(process.env.ARENACACHE_MEMBERSHIP_OPTIONS ?? '{}');
const { EtcdMembership } = await import(pathToFileURL(modulePath).href);

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const ids = (members) => members.map((m) => m.id);

const membership = new EtcdMembership(options);
membership.onChange((members) => out({ type: 'members', members: ids(members) }));
membership.onEvent((event) => {
  if (event.type !== 'members-changed') out({ type: 'event', event });
});

let closing = false;
async function shutdown(signal) {
  if (closing) return;
  closing = true;
  // Graceful: revoke the lease first (peers drop us at once); a real node then drains its servers.
  await membership.close();
  out({ type: 'closed', signal });
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
// If the test runner goes away, do not linger.
process.stdin.on('end', () => void shutdown('stdin'));
process.stdin.resume();

try {
  await membership.start();
  out({ type: 'started', members: ids(membership.members()) });
} catch (err) {
  out({ type: 'error', message: String(err?.message ?? err) });
  await membership.close();
  process.exit(1);
}
