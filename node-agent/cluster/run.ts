import { HttpTransport } from '../../common/kube/http-transport.js';
import { loadTransportOptions } from '../../common/kube/kubeconfig.js';
import type { KubeTransport } from '../../common/kube/transport.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { startHttpServer, type RunningHttpServer } from '../../operator/http-server.js';
import { describeError, KubeClient } from '../../common/kube/kube-client.js';
import type { Host } from '../host/host.js';
import { LocalHost } from '../host/local-host.js';
import { NsenterHost } from '../host/nsenter-host.js';
import { AgentMetrics } from '../metrics/agent-metrics.js';
import { ThinPoolAgent, type AgentInformerTuning } from './agent.js';
import { parseRunArgs, RUN_USAGE, type RunOptions } from './options.js';

/** What `thinpool-agent run` needs from its surroundings (the real process in main.ts; a VM guest in tests). */
export interface RunEnvironment {
  env: Record<string, string | undefined>;
  /** Creates the node's host (default: nsenter or local, from the options). */
  host?: (options: RunOptions) => Host;
  log?: Logger;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  /** Resolves when the agent should stop (default: SIGTERM or SIGINT). */
  stopSignal?: Promise<string>;
  informers?: AgentInformerTuning;
}

/** A running agent with its HTTP endpoints. */
export interface RunningAgent {
  agent: ThinPoolAgent;
  metrics: AgentMetrics;
  http: RunningHttpServer;
  /** Stops gracefully (waits for a running LVM command) and closes the endpoints. */
  stop(): Promise<void>;
}

/**
 * The agent's connection to the API server, on `node:http`/`node:https` (never client-node, see ADR 0086):
 * `--kubeconfig`, else `$KUBECONFIG`, else the in-cluster ServiceAccount (the DaemonSet's case, its token
 * re-read as it rotates), else `~/.kube/config`.
 */
export function loadApiTransport(
  path: string | undefined,
  env: Record<string, string | undefined>,
): KubeTransport {
  return new HttpTransport(loadTransportOptions(path, env));
}

/** Starts the agent and its `/metrics`, `/healthz` and `/readyz` endpoints. */
export async function startAgent(options: RunOptions, environment: RunEnvironment): Promise<RunningAgent> {
  const log = environment.log ?? createLogger('thinpool-agent');
  const host =
    environment.host?.(options) ??
    (options.host === 'nsenter' ? new NsenterHost({ hostRoot: options.hostRoot }) : new LocalHost());
  const transport = loadApiTransport(options.kubeconfig, environment.env);
  const metrics = new AgentMetrics({ thinpool: options.thinPoolName, node: options.nodeName });
  const agent = new ThinPoolAgent({
    host,
    client: new KubeClient(transport),
    nodeName: options.nodeName,
    thinPoolName: options.thinPoolName,
    log,
    metrics,
    intervalMs: options.intervalMs,
    heartbeatMs: options.heartbeatMs,
    dmEvents: options.dmEvents,
    instance: environment.env.POD_NAME ?? options.nodeName,
    informers: environment.informers,
  });
  const text = (status: number, body: string) => ({ status, contentType: 'text/plain; charset=utf-8', body });
  const http = await startHttpServer(options.bindAddress.host, options.bindAddress.port, {
    '/metrics': async () => ({
      status: 200,
      contentType: metrics.registry.contentType,
      body: await metrics.render(),
    }),
    '/healthz': async () => text(200, 'ok\n'),
    '/readyz': async () => (agent.ready ? text(200, 'ok\n') : text(503, `${agent.notReadyReason}\n`)),
  });
  await agent.start();
  log.info('Started thin pool agent', {
    thinPool: options.thinPoolName,
    node: options.nodeName,
    host: host.kind,
    port: http.port,
    server: transport.server,
    intervalMs: options.intervalMs,
    dmEvents: options.dmEvents,
  });
  return {
    agent,
    metrics,
    http,
    async stop() {
      await agent.stop();
      await http.close();
      transport.close?.();
    },
  };
}

function signalPromise(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/**
 * `thinpool-agent run [flags]`: runs until SIGTERM or SIGINT, then stops gracefully: a running LVM command
 * finishes (within `--shutdown-timeout`), nothing new starts. Resolves to the exit code: 0 after a clean
 * stop, 1 when it could not start or the shutdown timed out, 2 for bad arguments.
 */
export async function runAgentCommand(argv: readonly string[], environment: RunEnvironment): Promise<number> {
  const stdout = environment.stdout ?? ((t) => process.stdout.write(t));
  const stderr = environment.stderr ?? ((t) => process.stderr.write(t));
  const parsed = parseRunArgs(argv, environment.env);
  if (!parsed.ok) {
    stderr(`thinpool-agent run: ${parsed.errors.join('\n')}\n\n${RUN_USAGE}`);
    return 2;
  }
  if (parsed.options.help) {
    stdout(RUN_USAGE);
    return 0;
  }
  const log = environment.log ?? createLogger('thinpool-agent');
  const stopSignal = environment.stopSignal ?? signalPromise();
  let running: RunningAgent;
  try {
    running = await startAgent(parsed.options, { ...environment, log });
  } catch (err) {
    log.error('Failed to start thin pool agent', { err: describeError(err) });
    return 1;
  }
  const signal = await stopSignal;
  log.info('Received signal, stopping thin pool agent', { signal, thinPool: parsed.options.thinPoolName });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), parsed.options.shutdownTimeoutMs);
  });
  const result = await Promise.race([running.stop().then(() => 'stopped' as const), timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    log.error('Timed out stopping thin pool agent', { timeoutMs: parsed.options.shutdownTimeoutMs });
    return 1;
  }
  log.info('Stopped thin pool agent', { thinPool: parsed.options.thinPoolName });
  return 0;
}
