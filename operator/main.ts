#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, type Logger } from '../common/logger.js';
import { parseBindAddress, parseFlags, USAGE, type OperatorFlags } from './flags.js';
import { startHttpServer, type Route, type RunningHttpServer } from './http-server.js';
import { Operator } from './operator.js';
import { describeError } from '../common/kube/kube-client.js';

/**
 * Loads the kubeconfig like controller-runtime: `--kubeconfig`, else `$KUBECONFIG`, else the in-cluster
 * ServiceAccount, else `~/.kube/config`.
 */
export function loadKubeConfig(flagPath: string | undefined, env: NodeJS.ProcessEnv): KubeConfig {
  const kc = new KubeConfig();
  if (flagPath) kc.loadFromFile(flagPath);
  else if (env.KUBECONFIG) kc.loadFromDefault();
  else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

async function serve(
  logger: Logger,
  address: string,
  routes: Record<string, Route>,
  servers: RunningHttpServer[],
): Promise<RunningHttpServer | undefined> {
  const bind = parseBindAddress(address);
  if (!bind || bind === 'disabled') return undefined;
  const server = await startHttpServer(bind.host, bind.port, routes);
  servers.push(server);
  logger.info('Started HTTP server', { address, port: server.port, paths: Object.keys(routes) });
  return server;
}

/** Runs the operator until a signal stops it; returns the process exit code. */
export async function runOperator(flags: OperatorFlags): Promise<number> {
  const logger = createLogger('operator');
  const operator = new Operator({
    kubeConfig: loadKubeConfig(flags.kubeconfig, process.env),
    settings: flags.settings,
    logger,
    workers: flags.workers,
    batchPeriodMs: flags.batchPeriodMs,
    leaderElection: flags.leaderElect ? { leaseName: flags.leaseName, timings: flags.timings } : undefined,
  });
  const text = (status: number, body: string) => ({ status, contentType: 'text/plain; charset=utf-8', body });
  const metricsRoutes: Record<string, Route> = {
    '/metrics': async () => ({
      status: 200,
      contentType: operator.metrics.registry.contentType,
      body: await operator.metrics.registry.metrics(),
    }),
  };
  const healthRoutes: Record<string, Route> = {
    '/healthz': async () => text(200, 'ok\n'),
    '/readyz': async () => (operator.synced ? text(200, 'ok\n') : text(503, 'informer caches not synced\n')),
  };
  const servers: RunningHttpServer[] = [];
  if (flags.metricsBindAddress === flags.healthProbeBindAddress) {
    await serve(logger, flags.metricsBindAddress, { ...metricsRoutes, ...healthRoutes }, servers);
  } else {
    await serve(logger, flags.metricsBindAddress, metricsRoutes, servers);
    await serve(logger, flags.healthProbeBindAddress, healthRoutes, servers);
  }

  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('Received signal, stopping operator', { signal, identity: operator.identity });
    const deadline = setTimeout(() => {
      logger.error('Timed out stopping operator', { timeoutMs: flags.shutdownTimeoutMs });
      process.exit(1);
    }, flags.shutdownTimeoutMs);
    deadline.unref();
    void operator.stop();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  logger.info('Started operator', {
    identity: operator.identity,
    namespace: flags.settings.namespace,
    agentImage: flags.settings.agentImage,
    leaderElect: flags.leaderElect,
  });
  await operator.start();
  const exit = await operator.exited;
  await Promise.all(servers.map((s) => s.close()));
  if (exit === 'leadership-lost') {
    logger.error('Stopped operator after losing leadership', { identity: operator.identity });
    return 1;
  }
  return 0;
}

async function main(): Promise<void> {
  const parsed = parseFlags(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    process.stderr.write(`thinpool-operator: ${parsed.errors.join('\n')}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  process.on('unhandledRejection', (reason) => {
    createLogger('operator').error('Crashed on an unhandled rejection', { err: describeError(reason) });
    process.exit(1);
  });
  try {
    process.exitCode = await runOperator(parsed.flags);
  } catch (err) {
    createLogger('operator').error('Failed to run operator', { err: describeError(err) });
    process.exitCode = 1;
  }
  // Sockets left by client-node's per-request agents must not keep a stopped operator alive.
  setTimeout(() => process.exit(), 100).unref();
}

const invokedPath = process.argv[1] ? realpathSync(process.argv[1]) : '';
if (invokedPath && invokedPath === realpathSync(fileURLToPath(import.meta.url))) void main();
