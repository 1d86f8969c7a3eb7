/**
 * Signals from the very first moment of `arenacache serve`: this module is the CLI's first import,
 * so its handlers are installed before the rest of the program loads (loading gRPC, etcd and the
 * metrics takes a good part of a second). A SIGTERM/SIGINT that arrives before the node can stop is
 * remembered and handed to the real handler once it is installed — the process never dies of the
 * default action half-way through starting. A SIGHUP before the reload handler is installed (whose
 * default action would kill the process too) is remembered once and delivered to it: the
 * configuration is then read again, which is what SIGHUP asks for. (Node's own bootstrap, before
 * any JavaScript runs, is the one moment left uncovered.)
 */
type Handler = (signal: NodeJS.Signals) => void;

const pending: NodeJS.Signals[] = [];
let handler: Handler | undefined;
let reloadPending = false;
let reloadHandler: Handler | undefined;

function onSignal(signal: NodeJS.Signals): void {
  if (handler) handler(signal);
  else pending.push(signal);
}

function onHangup(signal: NodeJS.Signals): void {
  if (reloadHandler) reloadHandler(signal);
  else reloadPending = true;
}

if (process.argv[2] === 'serve') {
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangup);
}

/** SIGTERM/SIGINT received so far that no handler has seen yet. */
export function pendingSignals(): readonly NodeJS.Signals[] {
  return pending;
}

/** Install the real SIGTERM/SIGINT handler; signals that arrived before it are delivered at once, in order. */
export function onShutdownSignal(h: Handler): void {
  handler = h;
  for (const s of pending.splice(0)) h(s);
}

/** Install the SIGHUP handler; a SIGHUP that arrived before it is delivered at once. */
export function onReloadSignal(h: Handler): void {
  reloadHandler = h;
  if (reloadPending) {
    reloadPending = false;
    h('SIGHUP');
  }
}
