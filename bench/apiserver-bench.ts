/**
 * Benchmark of the Kubernetes API emulator (`npx tsx bench/apiserver-bench.ts`): listing 10,000 ThinPools
 * over HTTP (node:http + JSON.parse, client-node CustomObjectsApi, and paged with limit=500), and 100
 * concurrent client-node watchers fed 1,000 changes each, checked for loss and order. Prints a markdown
 * table. Everything runs on 127.0.0.1 in one process; every loop is bounded.
 */
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { startApiServer } from '../test/support/kube-apiserver/index.js';
import type { KubeObject } from '../test/support/kube-apiserver/resources.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 10_000);
const LIST_RUNS = Number(process.env.BENCH_LIST_RUNS ?? 15);
const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 100);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 1_000);
const TP = { group: 'thinpool.dev', version: 'v1alpha1', plural: 'thinpools' } as const;

function stats(samples: number[]): { median: number; p95: number; min: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p95: at(0.95), min: sorted[0] };
}

/** GET over node:http, returning the body text (no client library in the way). */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { Accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function time(runs: number, body: () => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await body();
    samples.push(performance.now() - started);
  }
  return samples;
}

const api = await startApiServer({ crdDir: path.join(REPO, 'crds'), retainedEvents: CHANGES + 100 });
const store = api.server.store;
const thinPools = store.mustFind(TP.group, TP.version, TP.plural);
const seedStarted = performance.now();
for (let i = 0; i < OBJECTS; i++) {
  store.create(thinPools, undefined, {
    apiVersion: 'thinpool.dev/v1alpha1',
    kind: 'ThinPool',
    metadata: { name: `pool-${String(i).padStart(5, '0')}`, labels: { bench: 'yes', shard: String(i % 10) } },
    spec: {
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      devices: [{ path: `/dev/disk/by-id/bench-${i}` }],
    },
  });
}
const seedMs = performance.now() - seedStarted;
const kc = api.kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const listUrl = `${api.url}/apis/thinpool.dev/v1alpha1/thinpools`;

const serverSamples = await time(LIST_RUNS, async () => {
  const page = store.list(thinPools, { labelSelector: [], fieldSelector: [] });
  const body = `{"items":[${page.items.map((item) => store.viewJson(thinPools, item)).join(',')}]}`;
  if (page.items.length !== OBJECTS || body.length === 0) throw new Error('Server-side list came back short');
});
let bytes = 0;
const rawSamples = await time(LIST_RUNS, async () => {
  const text = await httpGet(listUrl);
  bytes = text.length;
  const list = JSON.parse(text) as { items: unknown[] };
  if (list.items.length !== OBJECTS)
    throw new Error(`Listed ${list.items.length} ThinPools, expected ${OBJECTS}`);
});
const clientSamples = await time(LIST_RUNS, async () => {
  const list = (await custom.listClusterCustomObject({ ...TP })) as { items: unknown[] };
  if (list.items.length !== OBJECTS)
    throw new Error(`Listed ${list.items.length} ThinPools, expected ${OBJECTS}`);
});
const selectorSamples = await time(LIST_RUNS, async () => {
  const list = (await custom.listClusterCustomObject({ ...TP, labelSelector: 'shard=3' })) as {
    items: unknown[];
  };
  if (list.items.length !== OBJECTS / 10) throw new Error(`Selected ${list.items.length} ThinPools`);
});
const pagedSamples = await time(Math.max(3, Math.floor(LIST_RUNS / 3)), async () => {
  let token: string | undefined;
  let total = 0;
  for (let page = 0; page < 1000; page++) {
    const list = (await custom.listClusterCustomObject({ ...TP, limit: 500, _continue: token })) as {
      items: unknown[];
      metadata: { continue?: string };
    };
    total += list.items.length;
    token = list.metadata.continue;
    if (!token) break;
  }
  if (total !== OBJECTS) throw new Error(`Paged through ${total} ThinPools, expected ${OBJECTS}`);
});

// 100 watchers from one resourceVersion; CHANGES status writes; every watcher must see every change in order.
const startRv = String(store.resourceVersion);
const received: number[][] = Array.from({ length: WATCHERS }, () => []);
const controllers: AbortController[] = [];
for (let w = 0; w < WATCHERS; w++) {
  controllers.push(
    await new k8s.Watch(kc).watch(
      '/apis/thinpool.dev/v1alpha1/thinpools',
      { resourceVersion: startRv },
      (type, obj: k8s.KubernetesObject) => {
        if (type === 'MODIFIED') received[w].push(Number(obj.metadata?.resourceVersion));
      },
      () => undefined,
    ),
  );
}
await new Promise((resolve) => setTimeout(resolve, 200));
const writeStarted = performance.now();
const expected: number[] = [];
for (let i = 0; i < CHANGES; i++) {
  const name = `pool-${String(i % OBJECTS).padStart(5, '0')}`;
  const current = store.get(thinPools, undefined, name);
  const next = JSON.parse(current.json) as KubeObject;
  next.status = { observedGeneration: 1, nodes: { desired: 1, ready: i % 2, failed: 0 } };
  expected.push(store.applyUpdate(thinPools, current, next, { subresource: 'status' }).rv);
}
const writeMs = performance.now() - writeStarted;
const deadline = Date.now() + 60_000;
while (received.some((r) => r.length < CHANGES) && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const deliveredMs = performance.now() - writeStarted;
controllers.forEach((c) => c.abort());
const lossless = received.filter(
  (r) => r.length === CHANGES && r.every((rv, i) => rv === expected[i]),
).length;
await api.stop();

const fmt = (ms: number): string => ms.toFixed(1);
const row = (name: string, samples: number[]): string => {
  const s = stats(samples);
  return `| ${name} | ${fmt(s.median)} | ${fmt(s.p95)} | ${fmt(s.min)} |`;
};
console.log(
  `\n### API emulator (${OBJECTS} ThinPools, ${(bytes / 1e6).toFixed(1)} MB list body, Node ${process.version})\n`,
);
console.log('| operation | median ms | p95 ms | min ms |');
console.log('|---|---|---|---|');
console.log(row(`list ${OBJECTS} (server side only: select + serialize)`, serverSamples));
console.log(row(`list ${OBJECTS} (node:http + JSON.parse)`, rawSamples));
console.log(row(`list ${OBJECTS} (client-node CustomObjectsApi)`, clientSamples));
console.log(row(`list labelSelector shard=3 (${OBJECTS / 10} items)`, selectorSamples));
console.log(row(`list all in pages of 500 (client-node)`, pagedSamples));
console.log(`\n| watch fan-out | value |\n|---|---|`);
console.log(`| watchers | ${WATCHERS} |`);
console.log(`| status writes | ${CHANGES} (${fmt(writeMs)} ms to commit) |`);
console.log(`| events delivered | ${received.reduce((n, r) => n + r.length, 0)} of ${WATCHERS * CHANGES} |`);
console.log(`| watchers with every event, in order | ${lossless} of ${WATCHERS} |`);
console.log(`| time until all delivered | ${fmt(deliveredMs)} ms |`);
console.log(`| seeding ${OBJECTS} ThinPools through the store (validated, defaulted) | ${fmt(seedMs)} ms |`);
if (lossless !== WATCHERS) process.exitCode = 1;
