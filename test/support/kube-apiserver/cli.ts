/**
 * Runs the emulator from the shell:
 * `npx tsx test/support/kube-apiserver/cli.ts --port N --crds crds/ --kubeconfig-out FILE`.
 * Prints one line `ready <url>` once it listens; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { startApiServer } from './index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    crds: { type: 'string' },
    'kubeconfig-out': { type: 'string' },
    'retained-events': { type: 'string' },
    'bookmark-interval-ms': { type: 'string' },
  },
  strict: true,
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid --port ${values.port}: expected 0..65535`);
  process.exit(2);
}

const server = await startApiServer({
  port,
  crdDir: values.crds,
  retainedEvents: values['retained-events'] ? Number(values['retained-events']) : undefined,
  bookmarkIntervalMs: values['bookmark-interval-ms'] ? Number(values['bookmark-interval-ms']) : undefined,
});
if (values['kubeconfig-out']) await server.writeKubeconfig(values['kubeconfig-out']);
console.log(`ready ${server.url}`);

const shutdown = (): void => {
  void server.stop().then(() => process.exit(0));
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
