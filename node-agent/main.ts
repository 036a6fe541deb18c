#!/usr/bin/env node
/**
 * `thinpool-agent`: the node agent's standalone CLI for plain hosts (the replacement for
 * docker-storage-setup). `apply`, `status` and `destroy` a ThinPool on this machine.
 */
import { createLogger } from '../common/logger.js';
import { runCli } from './cli/cli.js';
import { LocalHost } from './host/local-host.js';
import { NsenterHost } from './host/nsenter-host.js';

const controller = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());

const code = await runCli(process.argv.slice(2), {
  host: (args) => (args.host === 'nsenter' ? new NsenterHost({ hostRoot: args.hostRoot }) : new LocalHost()),
  log: createLogger('thinpool-agent'),
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  signal: controller.signal,
});
process.exitCode = code;
