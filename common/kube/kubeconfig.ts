import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { HttpTransportOptions } from './http-transport.js';
import { fileTokenSource, staticTokenSource } from './token-source.js';

/** Where a Pod's ServiceAccount credentials are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** File access of the loaders (tests pass their own directory layout through real files). */
export interface ConfigFiles {
  read(file: string): Buffer;
  exists(file: string): boolean;
}

const realFiles: ConfigFiles = { read: (file) => readFileSync(file), exists: (file) => existsSync(file) };

/**
 * The API server and credentials of this process, in client-go's order: `kubeconfigPath` (a
 * `--kubeconfig` flag), else `$KUBECONFIG` (its first existing file), else the in-cluster ServiceAccount
 * when `KUBERNETES_SERVICE_HOST` is set (the DaemonSet's case), else `~/.kube/config`.
 */
export function loadTransportOptions(
  kubeconfigPath: string | undefined,
  env: Record<string, string | undefined>,
  files: ConfigFiles = realFiles,
): HttpTransportOptions {
  if (kubeconfigPath) return kubeconfigFileOptions(kubeconfigPath, files);
  if (env.KUBECONFIG) {
    const candidates = env.KUBECONFIG.split(path.delimiter).filter((file) => file !== '');
    const found = candidates.find((file) => files.exists(file));
    if (!found) throw new Error(`None of the KUBECONFIG files exists: ${candidates.join(', ')}`);
    return kubeconfigFileOptions(found, files);
  }
  if (env.KUBERNETES_SERVICE_HOST) return inClusterOptions(env, SERVICE_ACCOUNT_DIR, files);
  const home = env.HOME ?? '';
  const fallback = path.join(home, '.kube', 'config');
  if (home && files.exists(fallback)) return kubeconfigFileOptions(fallback, files);
  throw new Error(
    'No Kubernetes API configuration: pass --kubeconfig, set KUBECONFIG, or run in a Pod (KUBERNETES_SERVICE_HOST)',
  );
}

/**
 * The in-cluster configuration, as client-go's `rest.InClusterConfig`: `https://$KUBERNETES_SERVICE_HOST:
 * $KUBERNETES_SERVICE_PORT`, the ServiceAccount's CA, and its token file, re-read as it rotates.
 */
export function inClusterOptions(
  env: Record<string, string | undefined>,
  serviceAccountDir: string = SERVICE_ACCOUNT_DIR,
  files: ConfigFiles = realFiles,
): HttpTransportOptions {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new Error('In-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT');
  }
  const tokenFile = path.join(serviceAccountDir, 'token');
  if (!files.exists(tokenFile)) {
    throw new Error(`In-cluster configuration needs the ServiceAccount token file ${tokenFile}`);
  }
  const caFile = path.join(serviceAccountDir, 'ca.crt');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: files.exists(caFile) ? files.read(caFile) : undefined,
    tokenSource: fileTokenSource(tokenFile),
  };
}

/** Reads a kubeconfig file (relative certificate and token paths are relative to the file). */
export function kubeconfigFileOptions(file: string, files: ConfigFiles = realFiles): HttpTransportOptions {
  let document: unknown;
  try {
    document = parse(files.read(file).toString('utf8'));
  } catch (err) {
    throw new Error(`Failed to read kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return kubeconfigOptions(document, path.dirname(path.resolve(file)), files);
  } catch (err) {
    throw new Error(`Kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
  }
}

type Fields = Record<string, unknown>;

/**
 * The server and credentials of a kubeconfig document's current context: `server`,
 * `certificate-authority[-data]`, `insecure-skip-tls-verify`, `tls-server-name`; `token`, `tokenFile`,
 * `client-certificate[-data]`, `client-key[-data]`, `username`/`password`. Exec plugins and auth
 * providers are refused with a clear error: the agent runs with a ServiceAccount.
 */
export function kubeconfigOptions(
  document: unknown,
  baseDir: string,
  files: ConfigFiles = realFiles,
): HttpTransportOptions {
  const doc = asFields(document, 'the document');
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '') throw new Error('no current-context is set');
  const context = asFields(named(doc.contexts, contextName, 'context').context, `context ${contextName}`);
  const clusterName = String(context.cluster ?? '');
  const cluster = asFields(named(doc.clusters, clusterName, 'cluster').cluster, `cluster ${clusterName}`);
  const userName = context.user === undefined ? undefined : String(context.user);
  const user = userName ? asFields(named(doc.users, userName, 'user').user ?? {}, `user ${userName}`) : {};

  if (typeof cluster.server !== 'string' || cluster.server === '') {
    throw new Error(`cluster ${clusterName} has no server`);
  }
  for (const unsupported of ['exec', 'auth-provider']) {
    if (user[unsupported] !== undefined) {
      throw new Error(
        `user ${userName} uses ${unsupported}, which thinpool-agent does not support: use a token, a token file or a client certificate`,
      );
    }
  }
  const resolve = (file: string) => path.resolve(baseDir, file);
  const material = (dataKey: string, fileKey: string, fields: Fields): Buffer | undefined => {
    if (typeof fields[dataKey] === 'string') return Buffer.from(fields[dataKey], 'base64');
    if (typeof fields[fileKey] === 'string') return files.read(resolve(fields[fileKey]));
    return undefined;
  };
  const options: HttpTransportOptions = {
    server: cluster.server,
    ca: material('certificate-authority-data', 'certificate-authority', cluster),
    insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    clientCertificate: material('client-certificate-data', 'client-certificate', user),
    clientKey: material('client-key-data', 'client-key', user),
  };
  if (typeof user.token === 'string' && user.token !== '')
    options.tokenSource = staticTokenSource(user.token);
  else if (typeof user.tokenFile === 'string') options.tokenSource = fileTokenSource(resolve(user.tokenFile));
  if (typeof user.username === 'string' && typeof user.password === 'string') {
    options.basicAuth = { username: user.username, password: user.password };
  }
  if (Boolean(options.clientCertificate) !== Boolean(options.clientKey)) {
    throw new Error(`user ${userName} needs both a client certificate and a client key`);
  }
  return options;
}

function asFields(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} is not a mapping`);
  }
  return value as Fields;
}

function named(list: unknown, name: string, kind: string): Fields {
  const entries = Array.isArray(list) ? list : [];
  const entry = entries.find((e) => asFields(e, `a ${kind} entry`).name === name) as Fields | undefined;
  if (!entry) throw new Error(`${kind} "${name}" is not defined`);
  return entry;
}
