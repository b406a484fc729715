/**
 * The shipped configurations set what the durability contract
 * (docs/reliability.md) says each guarantee needs: a single server (R1)
 * fsyncs before every ack; a cluster keeps R3 streams on three servers; the
 * images and charts run nats-server 2.10 or newer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { DEPLOY } from './helpers.js';

const read = (...p: string[]): string => readFileSync(join(DEPLOY, ...p), 'utf8');
const jetstreamBlock = (conf: string): string => /jetstream \{([^}]*)\}/.exec(conf)?.[1] ?? '';

interface EnvVar {
  name: string;
  value?: string;
}

describe('deploy: durability settings', () => {
  it('a standalone server fsyncs every write before its ack', () => {
    expect(jetstreamBlock(read('nats', 'standalone.conf'))).toMatch(/^\s*sync_interval: always$/m);
  });

  it('the cluster config forms a cluster and does not weaken the flush', () => {
    const conf = read('nats', 'cluster.conf');
    expect(conf).toMatch(/^cluster \{/m);
    expect(jetstreamBlock(conf)).not.toMatch(/^\s*sync_interval:/m);
  });

  it('compose runs three nats-server 2.10+ and provisions R3 streams', () => {
    const compose = parseYaml(read('compose', 'compose.yaml'), { merge: true }) as {
      'x-nats': { image: string };
      services: Record<string, { environment?: Record<string, string> }>;
    };
    const [, minor] = /nats:2\.(\d+)/.exec(compose['x-nats'].image) ?? [];
    expect(Number(minor)).toBeGreaterThanOrEqual(10);
    const nats = Object.keys(compose.services).filter((s) => /^nats-\d$/.test(s));
    expect(nats).toHaveLength(3);
    const replicas = Object.values(compose.services)
      .map((s) => s.environment?.RFW_REPLICAS)
      .filter((r) => r !== undefined);
    expect(replicas.length).toBeGreaterThan(0);
    expect(new Set(replicas)).toEqual(new Set(['3']));
  });

  it('Kubernetes runs a 3-server JetStream cluster with file storage and R3 streams', () => {
    const values = parseYaml(read('k8s', 'nats', 'values.yaml')) as {
      config: { cluster: { replicas: number }; jetstream: { fileStore: { enabled: boolean } } };
    };
    expect(values.config.cluster.replicas).toBe(3);
    expect(values.config.jetstream.fileStore.enabled).toBe(true);
    const replicas: string[] = [];
    for (const f of ['monitor.yaml', 'scheduler.yaml']) {
      for (const doc of parseAllDocuments(read('k8s', 'base', f))) {
        const d = doc.toJS() as {
          kind?: string;
          spec?: { template?: { spec?: { containers?: Array<{ env?: EnvVar[] }> } } };
        };
        if (d.kind !== 'Deployment') continue;
        for (const c of d.spec?.template?.spec?.containers ?? []) {
          for (const e of c.env ?? []) if (e.name === 'RFW_REPLICAS') replicas.push(e.value ?? '');
        }
      }
    }
    expect(replicas).toEqual(['3', '3']);
  });
});
