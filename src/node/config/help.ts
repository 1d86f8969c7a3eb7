/** `arenacache serve --help`, written from the flag table. */
import { SERVE_FLAGS } from './flags.js';

/** Options of `serve` that are actions, not settings. */
export const SERVE_ACTIONS = [
  { name: 'print-config', help: 'print the effective configuration as JSON (secrets redacted) and exit' },
  { name: 'print-config-schema', help: 'print the JSON Schema of the config file (for editors) and exit' },
] as const;

export function serveHelp(): string {
  const lines = [
    'Usage: arenacache serve [options]',
    '',
    'Runs one node. With no options: a single node on loopback (gRPC 127.0.0.1:7070, HTTP',
    '127.0.0.1:7080), static membership of itself, one plain-cache group named "default".',
    'Precedence: flag > environment variable > config file > default.',
    '',
    'Options:',
  ];
  for (const f of SERVE_FLAGS) {
    const left = `  --${f.name}${f.placeholder ? ` ${f.placeholder}` : ''}`;
    const def = f.default !== undefined ? ` (default ${f.default})` : '';
    lines.push(left.padEnd(34) + f.help + def);
    lines.push(''.padEnd(34) + `env ${f.env}`);
  }
  for (const a of SERVE_ACTIONS) lines.push(`  --${a.name}`.padEnd(34) + a.help);
  lines.push('  -h, --help'.padEnd(34) + 'this help');
  lines.push(
    '',
    'Signals: SIGTERM/SIGINT drain and stop (a second one exits at once). SIGHUP reads the',
    'configuration again and applies the log level; other changes are logged as needing a restart.',
    'Exit status: 0 after a graceful shutdown, 1 if the node failed to start or a second signal',
    'cut the shutdown short, 2 for bad options or configuration.',
    'Groups with their own budgets, TTLs and origins go in the config file (see docs/node.md).',
    'Relative file paths in flags and environment variables are resolved against the current',
    "directory; in the config file, against the file's directory. Unknown keys and unknown",
    'ARENACACHE_* variables are errors.',
    '',
  );
  return lines.join('\n');
}
