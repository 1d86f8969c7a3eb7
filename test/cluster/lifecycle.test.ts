/**
 * Start-up and shutdown order: bind → address known → membership (factory gets the real address)
 * → serving; close deregisters first and never leaves a registration behind.
 */
import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  Cluster,
  type Membership,
  type MembershipListener,
  type NodeInfo,
} from '../../src/cluster/index.js';
import { grpcTransport } from '../../src/transport/index.js';

/** An in-test membership that records calls and lets the test decide when start() resolves. */
class ProbeMembership implements Membership {
  calls: string[] = [];
  private entered!: () => void;
  /** Resolves when start() has been called. */
  readonly startCalled = new Promise<void>((r) => (this.entered = r));
  private release!: () => void;
  private readonly started = new Promise<void>((r) => (this.release = r));
  private listeners = new Set<MembershipListener>();
  constructor(
    private list: NodeInfo[],
    private readonly autoStart = true,
  ) {}
  members() {
    return this.list;
  }
  onChange(l: MembershipListener) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(list: NodeInfo[]) {
    this.list = list;
    for (const l of this.listeners) l(list);
  }
  async start() {
    this.calls.push('start');
    this.entered();
    if (!this.autoStart) await this.started;
  }
  finishStart() {
    this.release();
  }
  async close() {
    this.calls.push('close');
  }
}

describe('cluster lifecycle', () => {
  it('binds port 0, then hands the real address to the membership factory', async () => {
    let seen: NodeInfo | undefined;
    let probe: ProbeMembership | undefined;
    const c = new Cluster({
      self: { id: 'a', httpAddress: '127.0.0.1:8080' },
      transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }),
      membership: (self) => {
        seen = self;
        return (probe = new ProbeMembership([self]));
      },
    });
    try {
      await c.start();
      expect(seen!.grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(seen!.grpcAddress).not.toBe('127.0.0.1:0');
      expect(seen!.httpAddress).toBe('127.0.0.1:8080');
      expect(c.self).toEqual(seen);
      expect(c.members()).toEqual([seen]);
      await c.start(); // idempotent
      expect(probe!.calls).toEqual(['start']);
    } finally {
      await c.close();
    }
    expect(probe!.calls).toEqual(['start', 'close']);
    await c.close(); // idempotent
    expect(probe!.calls).toEqual(['start', 'close']);
  });

  it('close during a slow membership start deregisters, and start rejects with ClosedError', async () => {
    const probe = new ProbeMembership([], false);
    const c = new Cluster({ self: { id: 'a' }, transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }), membership: probe });
    const starting = c.start();
    await probe.startCalled;
    expect(probe.calls).toEqual(['start']);
    const closing = c.close();
    probe.finishStart();
    await expect(starting).rejects.toBeInstanceOf(ClosedError);
    await closing;
    expect(probe.calls.filter((x) => x === 'close').length).toBeGreaterThanOrEqual(1);
    expect(c.peers()).toEqual([]);
  });

  it('close while the membership factory is pending: the membership is closed, never started', async () => {
    const probe = new ProbeMembership([]);
    let resolveFactory!: (m: ProbeMembership) => void;
    let factoryCalled!: () => void;
    const called = new Promise<void>((r) => (factoryCalled = r));
    const c = new Cluster({
      self: { id: 'a' },
      transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }),
      membership: () => {
        factoryCalled();
        return new Promise<ProbeMembership>((r) => (resolveFactory = r));
      },
    });
    const starting = c.start();
    starting.catch(() => {});
    await called;
    let closed = false;
    const closing = c.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 150));
    expect(closed).toBe(false); // close() waits for the membership start() is creating
    resolveFactory(probe);
    await closing;
    // Closed by the time close() resolved, and never started (no registration / lease).
    expect(probe.calls.length).toBeGreaterThanOrEqual(1);
    expect(probe.calls.every((x) => x === 'close')).toBe(true); // close() is idempotent
    await expect(starting).rejects.toBeInstanceOf(ClosedError);
    expect(probe.calls).not.toContain('start');
    expect(c.peers()).toEqual([]);
  });

  it('close while binding: the membership factory is never called', async () => {
    let calls = 0;
    const c = new Cluster({
      self: { id: 'a' },
      transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }),
      membership: (self) => {
        calls++;
        return new ProbeMembership([self]);
      },
    });
    const starting = c.start();
    starting.catch(() => {});
    await c.close();
    await expect(starting).rejects.toBeInstanceOf(ClosedError);
    expect(calls).toBe(0);
  });

  it('rebuilds the ring on every membership change and treats an empty membership as self only', async () => {
    const probe = new ProbeMembership([]);
    const c = new Cluster({ self: { id: 'a' }, transport: grpcTransport({ port: 0, shutdownGraceMs: 100 }), membership: probe });
    try {
      await c.start();
      expect(c.members().map((n) => n.id)).toEqual(['a']);
      const rings = [c.ring];
      c.on('membership', () => rings.push(c.ring));
      probe.emit([c.self, { id: 'b', grpcAddress: '127.0.0.1:1' }]);
      expect(c.members().map((n) => n.id)).toEqual(['a', 'b']);
      expect(c.peers().map((p) => p.id)).toEqual(['b']);
      expect(rings).toHaveLength(2);
      expect(rings[1]).not.toBe(rings[0]);
      // Same id, new address: the old channel is closed and a new one opened.
      const old = c.peers()[0]!;
      probe.emit([c.self, { id: 'b', grpcAddress: '127.0.0.1:2' }]);
      expect(old.state()).toBe('SHUTDOWN');
      expect(c.peers()[0]!.peer.grpcAddress).toBe('127.0.0.1:2');
      probe.emit([]);
      expect(c.members().map((n) => n.id)).toEqual(['a']);
      expect(c.peers()).toEqual([]);
    } finally {
      await c.close();
    }
  });
});
