#!/usr/bin/env node
/**
 * `thinpool-agent`: the node agent. `run` is the in-cluster agent (the DaemonSet's command); `apply`,
 * `status` and `destroy` are the standalone CLI for plain hosts (the replacement for docker-storage-setup).
 */
import { createLogger } from '../common/logger.js';
import { LocalHost } from './host/local-host.js';
import { NsenterHost } from './host/nsenter-host.js';

if (process.argv[2] === 'run') {
  // Loaded only for `run`: the standalone commands never open API connections. Neither loads client-node
  // (about 60 MiB of resident memory, ADR 0086): `run` talks to the API over node:http.
  const { runAgentCommand } = await import('./cluster/run.js');
  process.exitCode = await runAgentCommand(process.argv.slice(3), { env: process.env });
  // Whatever is still open after a stop (a watch socket being torn down) must not keep the process alive.
  setTimeout(() => process.exit(), 100).unref();
} else {
  // Loaded only for the standalone commands, so `run` does not carry the CLI's modules in its memory.
  const { runCli } = await import('./cli/cli.js');
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());

  const code = await runCli(process.argv.slice(2), {
    host: (args) =>
      args.host === 'nsenter' ? new NsenterHost({ hostRoot: args.hostRoot }) : new LocalHost(),
    log: createLogger('thinpool-agent'),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    signal: controller.signal,
  });
  process.exitCode = code;
}
