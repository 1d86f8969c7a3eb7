#!/usr/bin/env node
/**
 * The `arenacache` command: `serve` runs a node (what `npm start` runs); get/set/del/stats/members
 * talk to a running node over its HTTP API.
 */
// First: signal handlers, before anything else loads (see early-signals.ts); the rest of the
// program is imported after them (static imports would all be loaded before any of it runs).
import { onReloadSignal, onShutdownSignal, pendingSignals } from './early-signals.js';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { NodeConfig } from './config/index.js';
const { CLIENT_USAGE, clientFlagsHelp, EXIT_ERROR, EXIT_OK, runClient } = await import('./client.js');
const { configJsonSchema, ConfigError, loadConfig, redactedConfig, SERVE_ACTIONS, SERVE_FLAGS, serveHelp } = await import('./config/index.js');

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

const MAIN_HELP = `arenacache ${version()}: a distributed, groupcache-style cache node

Usage:
  arenacache serve [options]          run a node (npm start); see arenacache serve --help
  ${CLIENT_USAGE.get}
  ${CLIENT_USAGE.set}
  ${CLIENT_USAGE.del}
  ${CLIENT_USAGE.keys}
  ${CLIENT_USAGE.flush}
  ${CLIENT_USAGE.stats}
  ${CLIENT_USAGE.members}
  arenacache help [command]           help for a command
  arenacache --version

Client exit codes: 0 found / done, 1 not found, 2 error.
`;

/** At shutdown, snapshots that wrote nothing for this long are given up (exit 1). */
const SNAPSHOT_STALL_MS = 5000;

async function serve(argv: string[]): Promise<number> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const a of SERVE_ACTIONS) options[a.name] = { type: 'boolean' };
  for (const f of SERVE_FLAGS) options[f.name] = { type: f.kind === 'bool' ? 'boolean' : 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`arenacache serve: ${(err as Error).message}\nSee arenacache serve --help\n`);
    return EXIT_ERROR;
  }
  if (values.help) {
    process.stdout.write(serveHelp());
    return EXIT_OK;
  }
  if (values['print-config-schema']) {
    process.stdout.write(JSON.stringify(configJsonSchema(version()), null, 2) + '\n');
    return EXIT_OK;
  }
  const flags: Record<string, string | undefined> = {};
  for (const f of SERVE_FLAGS) {
    const v = values[f.name];
    flags[f.name] = typeof v === 'boolean' ? String(v) : v;
  }

  const sources = { flags, env: process.env };
  let config: NodeConfig;
  try {
    config = loadConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`arenacache serve: ${err.message}\n`);
      return EXIT_ERROR;
    }
    throw err;
  }
  if (values['print-config']) {
    process.stdout.write(JSON.stringify(redactedConfig(config), null, 2) + '\n');
    return EXIT_OK;
  }

  // Loaded here so that client commands do not pay for gRPC, etcd and prom-client.
  const { createLogger } = await import('./logger.js');
  const logger = createLogger(config.logLevel, { name: 'arenacache' });
  logger.info({ pid: process.pid, version: version() }, 'starting');
  const [{ NodeServer }, { reloadConfig }] = await Promise.all([import('./server.js'), import('./reload.js')]);
  if (pendingSignals().length > 0) {
    // Stopped while loading: nothing was bound or registered yet.
    logger.info({ signal: pendingSignals()[0] }, 'signal received before the node started: stopped');
    return EXIT_OK;
  }
  let node: InstanceType<typeof NodeServer>;
  try {
    node = new NodeServer({ config, logger, version: version() });
  } catch (err) {
    process.stderr.write(`arenacache serve: ${(err as Error).message}\n`);
    return err instanceof ConfigError ? EXIT_ERROR : 1;
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'signal received: shutting down');
    // Safety net: the drain is bounded, but never hang on a stuck close. Snapshots (--data-dir)
    // are not bounded by time: the net waits for them as long as they make progress.
    let written = -1;
    const net = (ms: number): void => {
      setTimeout(() => {
        const progress = node.snapshotProgress;
        if (progress !== undefined && progress > written) {
          written = progress;
          return net(SNAPSHOT_STALL_MS);
        }
        logger.error({ timeoutMs: config.shutdownTimeout, ...(progress !== undefined ? { snapshotBytes: progress } : {}) }, progress !== undefined ? 'snapshot write stalled: exiting' : 'shutdown overran its bound: exiting');
        process.exit(1);
      }, ms).unref();
    };
    net(config.shutdownTimeout + 5000);
    node.stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  onShutdownSignal(onSignal);
  // SIGHUP would kill the process (exit 129, no log line): reload what can be reloaded instead.
  onReloadSignal(() => {
    if (signals > 0) return void logger.info({ signal: 'SIGHUP' }, 'shutting down: SIGHUP ignored');
    config = reloadConfig(config, sources, logger);
  });
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: err.stack ?? String(err) }, 'uncaught exception');
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    logger.fatal({ err: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'unhandled rejection');
    process.exit(1);
  });

  try {
    await node.start();
  } catch (err) {
    if (signals > 0) return new Promise<number>(() => {}); // the signal handler exits
    logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'start failed; exiting');
    return err instanceof ConfigError ? EXIT_ERROR : 1;
  }
  return new Promise<number>(() => {}); // runs until a signal
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'get':
    case 'set':
    case 'del':
    case 'keys':
    case 'flush':
    case 'stats':
    case 'members':
      return runClient(command, rest, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
    case 'help':
      if (rest[0] === 'serve') process.stdout.write(serveHelp());
      else if (rest[0] && CLIENT_USAGE[rest[0]]) process.stdout.write(`usage: ${CLIENT_USAGE[rest[0]]}\n\n${clientFlagsHelp()}`);
      else process.stdout.write(MAIN_HELP + '\n' + clientFlagsHelp());
      return EXIT_OK;
    case '--help':
    case '-h':
      process.stdout.write(MAIN_HELP + '\n' + clientFlagsHelp());
      return EXIT_OK;
    case '--version':
    case '-v':
      process.stdout.write(version() + '\n');
      return EXIT_OK;
    default:
      process.stderr.write((command ? `arenacache: unknown command ${command}\n\n` : '') + MAIN_HELP);
      return EXIT_ERROR;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // serve: leave now (timers and sockets of a failed start must not keep the process alive);
    // client commands: let stdout drain first.
    if (process.argv[2] === 'serve') process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`arenacache: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = EXIT_ERROR;
  },
);
