/**
 * deploy/kubernetes/ and the Dockerfile cannot be run here (no Docker, no Kubernetes), so they are
 * checked against the CLI itself: the YAML parses; every flag and ARENACACHE_* variable is in the
 * CLI's flag table; the container's command line is accepted by the real CLI (`--print-config`),
 * and the ports, probes, DNS name, drain timing, peer authentication and resources agree with what
 * it prints.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVE_FLAGS } from '../../src/node/config/index.js';
import { REPO, requireBuild, runCli, tempDir } from '../node/helpers.js';

type Obj = Record<string, any>;
const DIR = join(REPO, 'deploy/kubernetes');
const FLAGS = new Map(SERVE_FLAGS.map((f) => [f.name, f]));

function load(): Obj[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) =>
      parseAllDocuments(readFileSync(join(DIR, f), 'utf8')).map((d) => {
        expect(d.errors, f).toEqual([]);
        return { ...(d.toJS() as Obj), __file: f };
      }),
    );
}

/** `--a=b`, `--a b`, `--bool` → [name, value]; throws for anything the CLI would not take. */
function parseFlags(args: string[]): Array<[string, string | true]> {
  const out: Array<[string, string | true]> = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(args[i]!);
    if (!m) throw new Error(`not a flag: ${args[i]}`);
    const spec = FLAGS.get(m[1]!);
    if (!spec) throw new Error(`--${m[1]} is not a flag of arenacache serve`);
    if (spec.kind === 'bool') out.push([m[1]!, m[2] ?? true]);
    else out.push([m[1]!, m[2] ?? args[++i]!]);
  }
  return out;
}

/** Kubernetes' $(VAR) expansion from the container's env (fieldRefs get stand-in values). */
function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (all, v: string) => env[v] ?? all);
}

const mb = (q: string): number => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
};

beforeAll(() => requireBuild());
const tmp = tempDir('arenacache-deploy-test-');
afterAll(() => tmp.cleanup());

/**
 * Secret volumes get stand-in files (a fresh random value per item), as fieldRefs get stand-in
 * values: returns [mountPath, stand-in directory] for each secret volume the container mounts.
 */
function standInSecrets(pod: Obj, container: Obj): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const m of (container.volumeMounts ?? []) as Obj[]) {
    const secret = ((pod.volumes ?? []) as Obj[]).find((v) => v.name === m.name)?.secret as Obj | undefined;
    if (!secret) continue;
    expect(secret.items, `secret volume ${m.name} lists its items (the files the node reads)`).toBeDefined();
    mkdirSync(join(tmp.dir, m.name), { recursive: true });
    for (const item of secret.items as Obj[]) tmp.write(`${m.name}/${item.path}`, randomBytes(32).toString('base64'));
    out.push([m.mountPath, join(tmp.dir, m.name)]);
  }
  return out;
}

describe('deploy/kubernetes', () => {
  const docs = load();
  const kind = (k: string) => docs.filter((d) => d.kind === k);
  const sts = kind('StatefulSet')[0]!;
  const pod = sts.spec.template.spec;
  const c = pod.containers[0];
  const port = (name: string) => c.ports.find((p: Obj) => p.name === name)?.containerPort as number;
  const stand = { POD_IP: '127.0.0.1', POD_NAMESPACE: 'default' };

  it('the kustomization lists every manifest', () => {
    const k = kind('Kustomization')[0]!;
    expect([...k.resources].sort()).toEqual(docs.filter((d) => d.kind !== 'Kustomization').map((d) => d.__file).sort());
  });

  it("the container's command line and environment are the CLI's own, and the CLI accepts them", async () => {
    expect(c.args[0]).toBe('serve');
    const flags = parseFlags(c.args.slice(1));
    for (const e of c.env as Obj[]) {
      if (e.name.startsWith('ARENACACHE_')) expect(SERVE_FLAGS.map((f) => f.env), e.name).toContain(e.name);
    }
    const env: Record<string, string> = { ...stand };
    for (const e of c.env as Obj[]) if (typeof e.value === 'string') env[e.name] = e.value;
    const secrets = standInSecrets(pod, c);
    const args = c.args.map((a: string) => secrets.reduce((x, [mount, dir]) => x.replace(`=${mount}/`, `=${dir}/`), expand(a, env)));
    const r = await runCli([...args, '--print-config'], { env: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('ARENACACHE_'))) });
    expect(r.code, r.stderr).toBe(0);
    const cfg = JSON.parse(r.stdout.toString()) as Obj;
    expect(flags.map(([n]) => n)).toContain('peers-dns');

    // gRPC listens on every interface, so peers authenticate: a cluster secret from a Secret volume.
    expect(cfg.cluster.insecurePeers).toBe(false);
    const secretDir = secrets.find(([, dir]) => String(cfg.cluster.secretFile).startsWith(dir + '/'));
    expect(secretDir, `--cluster-secret-file ${cfg.cluster.secretFile} is in a Secret volume`).toBeDefined();

    // Ports: the flags' ports are the named container ports, and the Services point at them.
    expect(cfg.grpc).toMatchObject({ host: '0.0.0.0', port: port('grpc') });
    expect(cfg.http).toMatchObject({ host: '0.0.0.0', port: port('http') });
    expect(cfg.advertiseHost).toBe(stand.POD_IP);

    // DNS discovery names the headless Service, at its port.
    const peers = kind('Service').find((s) => s.spec.clusterIP === 'None')!;
    expect(peers.metadata.name).toBe(sts.spec.serviceName);
    expect(peers.spec.publishNotReadyAddresses).toBe(true);
    expect(cfg.dns).toMatchObject({ name: `${peers.metadata.name}.${stand.POD_NAMESPACE}.svc.cluster.local`, port: peers.spec.ports[0].port });
    expect(peers.spec.ports[0].targetPort).toBe('grpc');
    expect(cfg.etcd).toBeUndefined();

    // Draining: the pod's grace period covers preStop + drain delay + shutdown bound.
    const preStop = c.lifecycle.preStop.exec.command as string[];
    expect(preStop[0]).toBe('sleep');
    const graceMs = pod.terminationGracePeriodSeconds * 1000;
    expect(graceMs).toBeGreaterThan(Number(preStop[1]) * 1000 + cfg.drainDelay + cfg.shutdownTimeout);
    expect(cfg.drainDelay).toBeGreaterThan(0);

    // Resources: the memory limit holds the cache's budget and the process.
    expect(c.resources.requests.cpu).toBeDefined();
    expect(mb(c.resources.limits.memory) * 1024 * 1024).toBeGreaterThan(cfg.groups[0].maxBytes + 128 * 1024 * 1024);
    expect(mb(c.resources.requests.memory)).toBeLessThanOrEqual(mb(c.resources.limits.memory));
  });

  it('probes: readiness on /readyz, liveness and startup on /healthz, on the HTTP port', () => {
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  it('the Services select the pods; the API Service targets the HTTP port', () => {
    const labels = sts.spec.template.metadata.labels;
    expect(sts.spec.selector.matchLabels).toEqual(labels);
    for (const s of kind('Service')) for (const [k, v] of Object.entries(s.spec.selector)) expect(labels[k], s.metadata.name).toBe(v);
    const api = kind('Service').find((s) => s.spec.clusterIP !== 'None')!;
    expect(api.spec.ports[0].targetPort).toBe('http');
  });

  it('runs as a non-root user without privileges', () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const instr = (name: string) => lines.filter((l) => l.toUpperCase().startsWith(name + ' '));
  const json = (l: string) => JSON.parse(l.slice(l.indexOf('['))) as string[];
  const httpDefault = Number(FLAGS.get('http-port')!.default);

  it('is multi-stage and runs as a non-root user', () => {
    expect(instr('FROM').length).toBeGreaterThanOrEqual(2);
    const finalStage = lines.slice(lines.lastIndexOf(instr('FROM').at(-1)!));
    const user = finalStage.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.slice(5).trim());
  });

  it('its command line is one the CLI accepts, and HEALTHCHECK asks /healthz on its HTTP port', async () => {
    const entry = json(instr('ENTRYPOINT')[0]!);
    const cmd = json(instr('CMD')[0]!);
    expect(entry).toEqual(['node', 'dist/node/cli.js']);
    expect(cmd[0]).toBe('serve');
    parseFlags(cmd.slice(1));
    const r = await runCli([...cmd, '--print-config']);
    expect(r.code, r.stderr).toBe(0);
    const cfg = JSON.parse(r.stdout.toString()) as Obj;
    expect(cfg.http).toMatchObject({ host: '0.0.0.0', port: httpDefault });
    const health = instr('HEALTHCHECK')[0]!;
    expect(health).toContain(`http://127.0.0.1:${cfg.http.port}/healthz`);
    const exposed = instr('EXPOSE')[0]!.split(/\s+/).slice(1).map(Number);
    expect(exposed.sort()).toEqual([cfg.grpc.port, cfg.http.port].sort());
  });

  it('copies what the runtime needs: dist, the wasm files, proto and production node_modules', () => {
    const copies = instr('COPY').join('\n');
    for (const p of ['/src/dist', '/src/build/arenacache.wasm', '/src/proto', '/src/node_modules', '/src/package.json']) expect(copies).toContain(p);
    expect(text).toMatch(/npm prune --omit=dev/);
  });
});
