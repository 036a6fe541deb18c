/**
 * A TLS front for the API emulator (which speaks plain HTTP only): real certificates made by `openssl`, and
 * a `node:https` server that checks client certificates and forwards every request to the emulator,
 * recording how each was authenticated. It lets the node:http transport be tested on TLS, bearer tokens
 * and client certificates against the emulator's real API behaviour.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { execa } from 'execa';

/** PEM files of a throw-away CA, a server certificate for 127.0.0.1 and a client certificate. */
export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  remove(): void;
}

const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execa('openssl', args, { cwd });
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') {
      throw new Error(
        'The TLS tests need the openssl command to make their certificates (apt-get install openssl)',
        {
          cause: err,
        },
      );
    }
    throw err;
  }
}

async function signedCertificate(dir: string, name: string, subject: string, extensions: string) {
  writeFileSync(path.join(dir, `${name}.ext`), `${extensions}\n`);
  await openssl(['req', ...NEW_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const ca = ['-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'];
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      ...ca,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    dir,
  );
}

/** Makes a CA, a server certificate (127.0.0.1, `kubernetes.default.svc`) and a client certificate. */
export async function makeCertificates(): Promise<TestCertificates> {
  const dir = mkdtempSync(path.join(tmpdir(), 'thinpool-tls-'));
  await openssl(
    ['req', '-x509', ...NEW_KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=test-ca'],
    dir,
  );
  await signedCertificate(
    dir,
    'server',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth',
  );
  await signedCertificate(dir, 'client', '/O=system:nodes/CN=thinpool-agent', 'extendedKeyUsage=clientAuth');
  return {
    dir,
    caFile: path.join(dir, 'ca.crt'),
    serverCertFile: path.join(dir, 'server.crt'),
    serverKeyFile: path.join(dir, 'server.key'),
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** How one proxied request was authenticated. */
export interface SeenRequest {
  method: string;
  url: string;
  authorization?: string;
  /** Common name of the client certificate, when one was presented. */
  clientCommonName?: string;
}

/** A running TLS front. */
export interface TlsProxy {
  /** `https://127.0.0.1:PORT` */
  url: string;
  readonly seen: SeenRequest[];
  /** Answer requests 401 unless they carry this bearer token (default: any authentication passes). */
  requireToken(token: string | undefined): void;
  stop(): Promise<void>;
}

/** Starts an HTTPS server in front of `upstream` (the emulator's URL), trusting client certificates of the CA. */
export async function startTlsProxy(upstream: string, certs: TestCertificates): Promise<TlsProxy> {
  const seen: SeenRequest[] = [];
  let requiredToken: string | undefined;
  const target = new URL(upstream);
  const server = https.createServer(
    {
      cert: readFileSync(certs.serverCertFile),
      key: readFileSync(certs.serverKeyFile),
      ca: readFileSync(certs.caFile),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
      const entry: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        clientCommonName: peer?.subject?.CN as string | undefined,
      };
      seen.push(entry);
      if (requiredToken !== undefined && entry.authorization !== `Bearer ${requiredToken}`) {
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            status: 'Failure',
            message: 'Unauthorized',
            reason: 'Unauthorized',
            code: 401,
          }),
        );
        return;
      }
      const forwarded = http.request(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      forwarded.on('error', () => res.destroy());
      res.on('close', () => forwarded.destroy());
      req.pipe(forwarded);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    requireToken(token) {
      requiredToken = token;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
