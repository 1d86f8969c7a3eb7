// The child side of startMember() (bench/lib/child.mjs): answers {id, cmd, args} with the
// handler's result, one call at a time, so a timed loop never shares the process with another.

export const progress = (text) => process.send?.({ type: 'progress', text });

/** Thrown by a handler when the library or feature is not there (reported, not a failure). */
export class Unavailable extends Error {}

export function serve(handlers) {
  let queue = Promise.resolve();
  process.on('message', (m) => {
    queue = queue.then(async () => {
      try {
        const h = handlers[m.cmd];
        if (!h) throw new Error(`unknown command ${m.cmd}`);
        process.send({ id: m.id, ok: true, data: await h(m.args ?? {}) });
      } catch (e) {
        process.send({ id: m.id, ok: false, error: e instanceof Unavailable ? e.message : e.stack ?? String(e), unavailable: e instanceof Unavailable });
      }
    });
  });
  process.on('disconnect', () => process.exit(0));
}
