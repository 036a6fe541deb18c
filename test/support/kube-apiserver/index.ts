/**
 * The Kubernetes API emulator for tests: a real HTTP server with kube-apiserver semantics that the real
 * `@kubernetes/client-node` and `kubectl` talk to. See README.md beside this file for what is emulated.
 */
import { writeFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { validateAndDefault, type JSONSchemaProps } from '../../../api/validation/index.js';
import { loadCrdManifests } from './crds.js';
import { EmulatorServer, type ErrorRule, type RequestLogEntry } from './server.js';
import type { SchemaValidator } from './store.js';

export type { RequestLogEntry, ErrorRule } from './server.js';
export { EmulatorServer } from './server.js';

/** Options of {@link startApiServer}. */
export interface ApiServerOptions {
  /** Load every CRD YAML in this directory at start; default: none. */
  crdDir?: string;
  /** Port on 127.0.0.1; default 0 = a free port. */
  port?: number;
  /** Change events retained per resource for watches from a resourceVersion (the watch window); default 1000. */
  retainedEvents?: number;
  /** Interval of BOOKMARK events on watches that allow them; default 60000 (kube-apiserver: about a minute). */
  bookmarkIntervalMs?: number;
  /** CRD validator (pruning, defaulting, schema and CEL); default: the project's shared validator. */
  validator?: SchemaValidator;
  /** Seed of the injected faults' random numbers (replayable fault runs); default: Math.random. */
  faultSeed?: number;
}

/** The project's shared CRD validator (`api/validation`), as the emulator calls it. */
export const sharedValidator: SchemaValidator = (schema, object, options) =>
  validateAndDefault(schema as JSONSchemaProps, object, options);

/** A running emulator. */
export interface RunningApiServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** A KubeConfig pointing at {@link url} (skipTLSVerify, anonymous user). */
  kubeConfig(): KubeConfig;
  /** Writes a kubeconfig file for kubectl and child processes. */
  writeKubeconfig(path: string): Promise<void>;
  /** Fault injection. */
  faults: {
    setLatency(ms: number): void;
    setErrorRate(rule: ErrorRule): void;
    clearErrors(): void;
    /** Closes every open watch stream now. */
    dropWatches(): void;
    /** Forgets retained events: watches from older resourceVersions get 410. */
    compact(): void;
  };
  /** Every resource request served, in arrival order. */
  requestLog: {
    entries(): RequestLogEntry[];
    count(filter?: Partial<RequestLogEntry>): number;
    reset(): void;
  };
  /**
   * Resolves once the emulated controllers (garbage collector, namespace and CRD cleanup, PDB status) have
   * nothing left to do for the writes made so far, so a test can assert their effects without polling.
   */
  settle(): Promise<void>;
  /** The underlying server (store access for the emulator's own tests and benchmarks). */
  server: EmulatorServer;
  stop(): Promise<void>;
}

/** The kubeconfig document for a server URL. */
export function kubeconfigDocument(url: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'emulator', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'anonymous', user: {} }],
    contexts: [
      { name: 'emulator', context: { cluster: 'emulator', user: 'anonymous', namespace: 'default' } },
    ],
    'current-context': 'emulator',
    preferences: {},
  };
}

function matchesFilter(entry: RequestLogEntry, filter: Partial<RequestLogEntry>): boolean {
  return (Object.keys(filter) as (keyof RequestLogEntry)[]).every((key) => entry[key] === filter[key]);
}

/** Starts an emulator on 127.0.0.1 and loads the CRDs of `crdDir`. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<RunningApiServer> {
  const server = new EmulatorServer({
    retainedEvents: options.retainedEvents ?? 1000,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
    validator: options.validator ?? sharedValidator,
    faultSeed: options.faultSeed,
  });
  if (options.crdDir) {
    const crdType = server.store.mustFind('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
    for (const crd of await loadCrdManifests(options.crdDir)) server.store.create(crdType, undefined, crd);
  }
  const url = await server.listen(options.port ?? 0);
  const log = server.requestLog;
  return {
    url,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'emulator', server: url, skipTLSVerify: true }],
        users: [{ name: 'anonymous' }],
        contexts: [{ name: 'emulator', cluster: 'emulator', user: 'anonymous', namespace: 'default' }],
        currentContext: 'emulator',
      });
      return kc;
    },
    async writeKubeconfig(path: string) {
      await writeFile(path, stringify(kubeconfigDocument(url)), { mode: 0o600 });
    },
    faults: {
      setLatency: (ms) => server.setLatency(ms),
      setErrorRate: (rule) => server.setErrorRate(rule),
      clearErrors: () => server.clearErrors(),
      dropWatches: () => server.dropWatches(),
      compact: () => server.store.compact(),
    },
    requestLog: {
      entries: () => log.map((e) => ({ ...e })),
      count: (filter = {}) => log.filter((e) => matchesFilter(e, filter)).length,
      reset: () => {
        log.length = 0;
      },
    },
    async settle() {
      // Each controller pass can schedule another (a GC deletion cascades); bounded for safety.
      for (let pass = 0; pass < 1000 && server.store.controllersPending; pass++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (server.store.controllersPending)
        throw new Error('Emulated controllers did not settle after 1000 passes');
    },
    server,
    stop: () => server.close(),
  };
}
