/**
 * Static checks of deploy/: every YAML and JSON file parses; every Kubernetes
 * manifest validates against the Kubernetes (and KEDA, Prometheus Operator)
 * JSON schemas shipped by the kubernetes-models packages; and the pieces agree
 * with each other and with the code: each service has probes, resources, a
 * PodDisruptionBudget, a KEDA trigger per consumer it pulls from, compose runs
 * every service with its own NATS user, the PrometheusRule and the compose
 * alert file hold the same rules, and every metric a dashboard or an alert
 * uses is one the code exports.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Service } from 'kubernetes-models/v1/Service';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { PRIORITIES, Names } from '@rfw/core';
import { ROLES, SERVICES, renderNatsHelmValues } from '@rfw/supervisor';
import { DEPLOY, ROOT, deployFiles } from './helpers.js';

type Manifest = {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  [k: string]: unknown;
};
type Validator = new (data: Record<string, unknown>) => { validate(): void };

const VALIDATORS: Record<string, Validator> = {
  'apps/v1/Deployment': Deployment as unknown as Validator,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as unknown as Validator,
  'v1/Service': Service as unknown as Validator,
  'v1/ConfigMap': ConfigMap as unknown as Validator,
  'v1/Namespace': Namespace as unknown as Validator,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject as unknown as Validator,
  'monitoring.coreos.com/v1/PodMonitor': PodMonitor as unknown as Validator,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule as unknown as Validator,
};

const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

function yamlDocs(rel: string): unknown[] {
  return parseAllDocuments(read(rel)).map((d) => {
    if (d.errors.length) throw new Error(`${rel}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as unknown;
  });
}

/** Every Kubernetes object under deploy/k8s (not kustomizations, not Helm values). */
function k8sObjects(): Array<{ file: string; doc: Manifest }> {
  return deployFiles('.yaml', '.yml')
    .filter(
      (f) =>
        f.startsWith('deploy/k8s/') && !f.endsWith('kustomization.yaml') && !f.includes('/nats/'),
    )
    .flatMap((file) =>
      yamlDocs(file)
        .filter(Boolean)
        .map((doc) => ({ file, doc: doc as Manifest })),
    );
}

const byKind = (kind: string): Manifest[] =>
  k8sObjects()
    .filter((o) => o.doc.kind === kind)
    .map((o) => o.doc);

describe('integration: deploy/ files', () => {
  it('every YAML and JSON file parses', () => {
    const yamls = deployFiles('.yaml', '.yml');
    const jsons = deployFiles('.json');
    expect(yamls.length).toBeGreaterThan(10);
    expect(jsons.length).toBeGreaterThan(1);
    for (const f of yamls) expect(() => yamlDocs(f), f).not.toThrow();
    for (const f of jsons) expect(() => JSON.parse(read(f)) as unknown, f).not.toThrow();
  });

  it('every Kubernetes manifest validates against its schema', () => {
    const objects = k8sObjects();
    expect(objects.length).toBeGreaterThan(15);
    for (const { file, doc } of objects) {
      const key = `${doc.apiVersion}/${doc.kind}`;
      const V = VALIDATORS[key];
      expect(V, `${file}: no schema for ${key}`).toBeDefined();
      try {
        new V!(doc as Record<string, unknown>).validate();
      } catch (err) {
        throw new Error(`${file} ${doc.kind}/${doc.metadata?.name}: ${(err as Error).message}`);
      }
    }
  });

  it('the schema check catches a broken manifest', () => {
    const bad = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { replicas: 'two' },
    };
    expect(() => new Deployment(bad as never).validate()).toThrow(/replicas|selector/);
  });

  it('kustomizations list files that exist, and the base lists every manifest beside it', () => {
    for (const f of deployFiles('kustomization.yaml')) {
      const k = parseYaml(read(f)) as {
        resources?: string[];
        secretGenerator?: Array<{ envs?: string[] }>;
      };
      const dir = join(ROOT, dirname(f));
      for (const r of k.resources ?? []) expect(existsSync(join(dir, r)), `${f}: ${r}`).toBe(true);
      for (const g of k.secretGenerator ?? [])
        for (const e of g.envs ?? [])
          expect(
            existsSync(join(dir, e)) || existsSync(join(dir, `${e}.example`)),
            `${f}: ${e}(.example)`,
          ).toBe(true);
    }
    const base = parseYaml(read('deploy/k8s/base/kustomization.yaml')) as { resources: string[] };
    const files = readdirSync(join(DEPLOY, 'k8s', 'base')).filter(
      (f) => f !== 'kustomization.yaml',
    );
    expect([...base.resources].sort()).toEqual(files.sort());
  });
});

describe('integration: deploy/ agrees with the code', () => {
  it('every service has a Deployment with probes, resources and a PodDisruptionBudget', () => {
    const deployments = byKind('Deployment');
    const pdbs = byKind('PodDisruptionBudget');
    for (const s of SERVICES) {
      const d = deployments.find((x) => x.metadata?.name === s.name) as
        | {
            spec: {
              template: { spec: { containers: Array<Record<string, never>> } };
              selector: { matchLabels: Record<string, string> };
            };
          }
        | undefined;
      expect(d, `Deployment ${s.name}`).toBeDefined();
      const c = d!.spec.template.spec.containers[0] as unknown as {
        args: string[];
        livenessProbe: { httpGet: { path: string } };
        readinessProbe: { httpGet: { path: string } };
        resources: { requests: Record<string, string>; limits: Record<string, string> };
        env: Array<{ name: string; value?: string }>;
      };
      expect(c.args).toEqual([s.name]);
      expect(c.livenessProbe.httpGet.path).toBe('/healthz');
      expect(c.readinessProbe.httpGet.path).toBe('/readyz');
      expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
      expect(c.resources.limits.memory).toBeDefined();
      expect(c.env.find((e) => e.name === 'NATS_USER')?.value).toBe(s.name);
      const pdb = pdbs.find((p) => p.metadata?.name === s.name) as
        { spec: { selector: { matchLabels: Record<string, string> } } } | undefined;
      expect(pdb?.spec.selector.matchLabels, `PDB ${s.name}`).toEqual(d!.spec.selector.matchLabels);
    }
  });

  it('each worker service scales on the lag of every consumer it pulls from', () => {
    const names = new Names('rfw');
    const scaled = byKind('ScaledObject') as unknown as Array<{
      metadata: { name: string };
      spec: {
        scaleTargetRef: { name: string };
        triggers: Array<{ type: string; metadata: Record<string, string> }>;
      };
    }>;
    for (const role of ROLES.filter((r) => r.consumes.length)) {
      const so = scaled.find((s) => s.spec.scaleTargetRef.name === role.user);
      expect(so, `ScaledObject for ${role.user}`).toBeDefined();
      const consumers = so!.spec.triggers.map((t) => {
        expect(t.type).toBe('nats-jetstream');
        expect(t.metadata.stream).toBe(names.jobsStream);
        expect(Number(t.metadata.lagThreshold)).toBeGreaterThan(0);
        return t.metadata.consumer;
      });
      const wanted = role.consumes.flatMap((type) =>
        PRIORITIES.map((p) => names.consumerName(type, p)),
      );
      expect([...consumers].sort()).toEqual([...wanted].sort());
    }
  });

  it('the NATS Helm values carry the generated accounts (node scripts/gen-nats-accounts.mjs)', () => {
    expect(read('deploy/k8s/nats/values.yaml')).toBe(renderNatsHelmValues('rfw'));
    const v = parseYaml(read('deploy/k8s/nats/values.yaml')) as {
      config: {
        cluster: { replicas: number };
        jetstream: { enabled: boolean; fileStore: { enabled: boolean } };
      };
    };
    expect(v.config.cluster.replicas).toBe(3);
    expect(v.config.jetstream.enabled).toBe(true);
    expect(v.config.jetstream.fileStore.enabled).toBe(true);
  });

  it('the PrometheusRule holds exactly the compose alert rules', () => {
    const compose = parseYaml(read('deploy/prometheus/alerts.yml')) as { groups: unknown[] };
    const [rule] = byKind('PrometheusRule') as unknown as Array<{ spec: { groups: unknown[] } }>;
    expect(rule!.spec.groups).toEqual(compose.groups);
  });

  it('compose runs every service with its own NATS user, on a 3-server cluster, scraped by Prometheus', () => {
    const c = parseYaml(read('deploy/compose/compose.yaml'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
    };
    for (const n of ['nats-1', 'nats-2', 'nats-3', 'prometheus', 'grafana'])
      expect(c.services[n], n).toBeDefined();
    for (const n of ['nats-1', 'nats-2', 'nats-3']) {
      expect(c.services[n]!.command).toEqual(['-c', '/etc/nats/cluster.conf']);
      expect(c.services[n]!.environment?.NATS_SERVER_NAME).toBe(n);
    }
    const prom = read('deploy/compose/prometheus.yml');
    for (const s of SERVICES) {
      const svc = c.services[s.name];
      expect(svc, s.name).toBeDefined();
      expect(svc!.command).toEqual([s.name]);
      expect(svc!.environment?.NATS_URL).toMatch(
        new RegExp(`^nats://${s.name}:\\$\\{RFW_NATS_PASS_`),
      );
      expect(prom).toContain(`${s.name}:8080`);
    }
    // Every variable compose requires has a line in .env.example.
    const required = [...read('deploy/compose/compose.yaml').matchAll(/\$\{([A-Z0-9_]+):\?/g)].map(
      (m) => m[1],
    );
    const example = read('deploy/compose/.env.example');
    for (const v of new Set(required)) expect(example, v).toMatch(new RegExp(`^${v}=`, 'm'));
  });

  it('every rfw metric used by the dashboard and the alerts is exported by the code', () => {
    const sources = ['libs', 'services']
      .flatMap((top) => readdirSync(join(ROOT, top)).map((pkg) => join(ROOT, top, pkg, 'src')))
      .filter((d) => existsSync(d))
      .flatMap((d) => readdirSync(d, { recursive: true }).map((f) => join(d, String(f))))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const used = new Set(
      [read('deploy/grafana/dashboards/rustfs-workers.json'), read('deploy/prometheus/alerts.yml')]
        .join('\n')
        .match(/\brfw_[a-z_]*[a-z]\b/g)
        ?.map((m) => m.replace(/_(bucket|sum|count)$/, '')),
    );
    expect(used.size).toBeGreaterThan(8);
    for (const m of used) expect(sources.includes(`'${m}'`), `metric ${m}`).toBe(true);
  });

  it('Grafana provisions the dashboard on the Prometheus datasource it names', () => {
    const ds = parseYaml(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string }>;
    };
    const dash = JSON.parse(read('deploy/grafana/dashboards/rustfs-workers.json')) as {
      panels: Array<{ datasource: { uid: string }; targets: Array<{ expr: string }> }>;
    };
    expect(dash.panels.length).toBeGreaterThan(8);
    for (const p of dash.panels) {
      expect(p.datasource.uid).toBe(ds.datasources[0]!.uid);
      expect(p.targets.length).toBeGreaterThan(0);
    }
  });
  it("the custom-worker example's manifest validates, and KEDA scales it on its own type's consumers", () => {
    const file = 'examples/custom-worker/k8s/worker-thumbnail.yaml';
    const docs = yamlDocs(file).filter(Boolean) as Manifest[];
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'PodDisruptionBudget', 'ScaledObject']);
    for (const doc of docs)
      new VALIDATORS[`${doc.apiVersion}/${doc.kind}`]!(doc as Record<string, unknown>).validate();
    const scaled = docs[2] as unknown as {
      spec: {
        scaleTargetRef: { name: string };
        triggers: Array<{ metadata: { stream: string; consumer: string } }>;
      };
    };
    expect(scaled.spec.scaleTargetRef.name).toBe('worker-thumbnail');
    expect(scaled.spec.triggers.map((t) => t.metadata.consumer)).toEqual(
      PRIORITIES.map((p) => new Names('rfw').consumerName('thumbnail', p)),
    );
    expect(new Set(scaled.spec.triggers.map((t) => t.metadata.stream))).toEqual(
      new Set(['rfw_jobs']),
    );
  });
});
