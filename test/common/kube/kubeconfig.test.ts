/**
 * Where the agent's node:http transport gets its server and credentials: kubeconfig documents (data and
 * file forms, relative paths, what is refused), the in-cluster ServiceAccount, and client-go's order of
 * sources. Real files in a temporary directory; one kubeconfig is the emulator's own, used for real.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { HttpTransport } from '../../../common/kube/http-transport.js';
import {
  inClusterOptions,
  kubeconfigFileOptions,
  kubeconfigOptions,
  loadTransportOptions,
} from '../../../common/kube/kubeconfig.js';
import { KubeClient } from '../../../common/kube/kube-client.js';
import { startApiServer } from '../../support/kube-apiserver/index.js';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'thinpool-kubeconfig-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'other', cluster: { server: 'https://wrong:1' } },
      { name: 'c', cluster },
    ],
    users: [{ name: 'u', user }],
    contexts: [
      { name: 'ctx', context: { cluster: 'c', user: 'u' } },
      { name: 'unused', context: { cluster: 'other', user: 'u' } },
    ],
    'current-context': 'ctx',
  };
}

describe('kubeconfig documents', () => {
  it('takes the current context’s server, CA data, token and TLS settings', async () => {
    const options = kubeconfigOptions(
      kubeconfig(
        {
          server: 'https://10.0.0.1:6443',
          'certificate-authority-data': Buffer.from('CA PEM').toString('base64'),
          'tls-server-name': 'kubernetes',
        },
        { token: 'abc' },
      ),
      dir,
    );
    expect(options).toMatchObject({
      server: 'https://10.0.0.1:6443',
      ca: Buffer.from('CA PEM'),
      tlsServerName: 'kubernetes',
      insecureSkipTlsVerify: false,
    });
    expect(await options.tokenSource?.token()).toBe('abc');
  });

  it('reads certificate, key and token files relative to the kubeconfig’s directory', async () => {
    const sub = path.join(dir, 'relative');
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, 'ca.crt'), 'CA');
    writeFileSync(path.join(sub, 'client.crt'), 'CERT');
    writeFileSync(path.join(sub, 'client.key'), 'KEY');
    writeFileSync(path.join(sub, 'token'), 'from-file\n');
    const file = path.join(sub, 'config');
    writeFileSync(
      file,
      stringify(
        kubeconfig(
          { server: 'https://api:6443', 'certificate-authority': 'ca.crt' },
          { 'client-certificate': 'client.crt', 'client-key': 'client.key', tokenFile: 'token' },
        ),
      ),
    );
    const options = kubeconfigFileOptions(file);
    expect(options.ca?.toString()).toBe('CA');
    expect(options.clientCertificate?.toString()).toBe('CERT');
    expect(options.clientKey?.toString()).toBe('KEY');
    expect(await options.tokenSource?.token()).toBe('from-file');
  });

  it('refuses exec plugins, auth providers and half a client certificate, with a clear error', () => {
    expect(() =>
      kubeconfigOptions(kubeconfig({ server: 'https://a' }, { exec: { command: 'aws' } }), dir),
    ).toThrow('user u uses exec, which thinpool-agent does not support');
    expect(() =>
      kubeconfigOptions(kubeconfig({ server: 'https://a' }, { 'auth-provider': { name: 'gcp' } }), dir),
    ).toThrow('user u uses auth-provider');
    expect(() =>
      kubeconfigOptions(
        kubeconfig(
          { server: 'https://a' },
          { 'client-certificate-data': Buffer.from('x').toString('base64') },
        ),
        dir,
      ),
    ).toThrow('user u needs both a client certificate and a client key');
  });

  it('names what is missing: the current context, the context, the cluster, the server', () => {
    const doc = kubeconfig({ server: 'https://a' });
    expect(() => kubeconfigOptions({ ...doc, 'current-context': '' }, dir)).toThrow(
      'no current-context is set',
    );
    expect(() => kubeconfigOptions({ ...doc, 'current-context': 'nope' }, dir)).toThrow(
      'context "nope" is not defined',
    );
    expect(() => kubeconfigOptions({ ...doc, clusters: [] }, dir)).toThrow('cluster "c" is not defined');
    expect(() => kubeconfigOptions(kubeconfig({}), dir)).toThrow('cluster c has no server');
    expect(() => kubeconfigOptions('just text', dir)).toThrow('the document is not a mapping');
  });

  it('names the file when it cannot be read or parsed', () => {
    const missing = path.join(dir, 'missing-config');
    expect(() => kubeconfigFileOptions(missing)).toThrow(`Failed to read kubeconfig ${missing}`);
    const broken = path.join(dir, 'broken-config');
    writeFileSync(broken, 'clusters: [');
    expect(() => kubeconfigFileOptions(broken)).toThrow(`Failed to read kubeconfig ${broken}`);
    const empty = path.join(dir, 'empty-config');
    writeFileSync(empty, 'kind: Config\n');
    expect(() => kubeconfigFileOptions(empty)).toThrow(`Kubeconfig ${empty}: no current-context is set`);
  });

  it('works on the kubeconfig the emulator writes for kubectl', async () => {
    const api = await startApiServer();
    const file = path.join(dir, 'emulator-config');
    await api.writeKubeconfig(file);
    const transport = new HttpTransport(kubeconfigFileOptions(file));
    try {
      const ns = await new KubeClient(transport).get<{ metadata: { name: string } }>(
        '/api/v1/namespaces/kube-system',
      );
      expect(ns.metadata.name).toBe('kube-system');
    } finally {
      transport.close();
      await api.stop();
    }
  });
});

describe('in-cluster configuration', () => {
  it('uses the service host and port, the ServiceAccount CA and its token file, re-read as it rotates', async () => {
    const sa = path.join(dir, 'serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(path.join(sa, 'ca.crt'), 'CLUSTER CA');
    writeFileSync(path.join(sa, 'token'), 'sa-token');
    const options = inClusterOptions(
      { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    expect(options.server).toBe('https://10.96.0.1:443');
    expect(options.ca?.toString()).toBe('CLUSTER CA');
    expect(await options.tokenSource?.token()).toBe('sa-token');
    writeFileSync(path.join(sa, 'token'), 'rotated');
    options.tokenSource?.invalidate?.();
    expect(await options.tokenSource?.token()).toBe('rotated');
  });

  it('brackets an IPv6 service host', () => {
    const sa = path.join(dir, 'serviceaccount');
    const options = inClusterOptions(
      { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      sa,
    );
    expect(options.server).toBe('https://[fd00::1]:443');
  });

  it('names what is missing', () => {
    expect(() => inClusterOptions({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, dir)).toThrow(
      'needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT',
    );
    const empty = path.join(dir, 'empty-sa');
    mkdirSync(empty, { recursive: true });
    expect(() =>
      inClusterOptions({ KUBERNETES_SERVICE_HOST: 'h', KUBERNETES_SERVICE_PORT: '1' }, empty),
    ).toThrow(`needs the ServiceAccount token file ${path.join(empty, 'token')}`);
  });
});

describe('the order of configuration sources', () => {
  const write = (name: string, server: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, stringify(kubeconfig({ server })));
    return file;
  };

  it('prefers --kubeconfig, then the first existing $KUBECONFIG file, then ~/.kube/config', () => {
    const flag = write('flag-config', 'https://flag:1');
    const fromEnv = write('env-config', 'https://env:1');
    const home = path.join(dir, 'home');
    mkdirSync(path.join(home, '.kube'), { recursive: true });
    writeFileSync(path.join(home, '.kube', 'config'), stringify(kubeconfig({ server: 'https://home:1' })));
    const env = { KUBECONFIG: `${path.join(dir, 'absent')}${path.delimiter}${fromEnv}`, HOME: home };
    expect(loadTransportOptions(flag, env).server).toBe('https://flag:1');
    expect(loadTransportOptions(undefined, env).server).toBe('https://env:1');
    expect(loadTransportOptions(undefined, { HOME: home }).server).toBe('https://home:1');
  });

  it('uses $KUBECONFIG over the in-cluster ServiceAccount, as client-go does', () => {
    const fromEnv = write('env-config-2', 'https://env:2');
    expect(
      loadTransportOptions(undefined, { KUBECONFIG: fromEnv, KUBERNETES_SERVICE_HOST: '10.96.0.1' }).server,
    ).toBe('https://env:2');
  });

  it('says how to configure it when there is nothing to load', () => {
    expect(() => loadTransportOptions(undefined, { HOME: path.join(dir, 'nobody') })).toThrow(
      'No Kubernetes API configuration: pass --kubeconfig, set KUBECONFIG, or run in a Pod',
    );
    expect(() => loadTransportOptions(undefined, { KUBECONFIG: path.join(dir, 'gone') })).toThrow(
      'None of the KUBECONFIG files exists',
    );
  });
});
