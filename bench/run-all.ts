/**
 * `make bench`: runs every benchmark under bench/ one after the other (never in parallel: they share two
 * cores and the VM) and writes their output, unedited, into BENCHMARKS.md with the machine it ran on:
 * between the two `make bench` markers at the end of the file, so the curated sections above them (tables
 * over several runs, analysis) stay as written. Benchmarks print either a markdown table or one JSON
 * object; both are kept as printed.
 *
 *   npx tsx bench/run-all.ts [--only NAME[,NAME]] [--out BENCHMARKS.md]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { AGENT_NODE_OPTIONS } from '../operator/controller/daemon-set.js';

interface Bench {
  name: string;
  script: string;
  args: string[];
  /** Extra environment (the node flags the product is deployed with). */
  env?: Record<string, string>;
  title: string;
  claim: string;
}

/** Every benchmark, in the order they run; `claim` is what the issue asks it to show. */
const BENCHES: Bench[] = [
  {
    name: 'vm',
    script: 'bench/vm-bench.ts',
    args: [],
    title: 'Test VM (issue 3)',
    claim: 'boot to first command and exec round trip, medians of several',
  },
  {
    name: 'apiserver',
    script: 'bench/apiserver-bench.ts',
    args: [],
    title: 'Kubernetes API emulator (issue 5)',
    claim: '10,000 objects listed; 100 concurrent watchers fed without loss',
  },
  {
    name: 'agent-provision',
    script: 'bench/agent-provision.ts',
    args: [],
    title: 'Agent: provisioning vs the manual procedure (issue 4)',
    claim:
      'wall time within 1.2x of the docs procedure run as a shell script on an identical disk in the same VM',
  },
  {
    name: 'agent-observe',
    script: 'bench/agent-observe.ts',
    args: [],
    title: 'Agent: steady state (issue 4)',
    claim: 'one observation costs one round of LVM reports; agent RSS under 80 MB',
  },
  {
    name: 'agent-steady-state',
    script: 'bench/agent-cluster-steady-state.ts',
    args: [],
    // What the operator's DaemonSet gives the agent (AGENT_NODE_OPTIONS in operator/controller/daemon-set.ts).
    env: { AGENT_NODE_FLAGS: AGENT_NODE_OPTIONS },
    title: 'Agent in the cluster: steady state (issue 7)',
    claim: 'CPU per hour and RSS at the default interval; a scrape served in under 5 ms p99',
  },
  {
    name: 'agent-fill-reaction',
    script: 'bench/agent-cluster-fill-reaction.ts',
    args: [],
    title: 'Agent vs dmeventd: reaction to a filling pool (issue 7)',
    claim:
      'time from crossing the threshold to the extension, agent vs dmeventd side by side, target under 1 s',
  },
  {
    name: 'operator',
    script: 'bench/operator-bench.ts',
    // The chart's default heap cap (operator.maxHeapMiB in charts/thinpool-operator/values.yaml).
    args: [`--operator-node-options=--max-old-space-size=${chartMaxHeapMiB()}`],
    title: 'Operator at cluster scale (issue 6)',
    claim:
      'update-to-status under 1 s and full resync under 5 s at 5,000 nodes; RSS under 250 MB; zero steady-state writes',
  },
];

/** The operator's heap cap that the chart deploys by default. */
function chartMaxHeapMiB(): number {
  const values = parse(readFileSync('charts/thinpool-operator/values.yaml', 'utf8')) as {
    operator: { maxHeapMiB: number };
  };
  return values.operator.maxHeapMiB;
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const only = argValue('--only')?.split(',');
const out = argValue('--out') ?? 'BENCHMARKS.md';
const selected = BENCHES.filter((b) => !only || only.includes(b.name));
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();

const sections: string[] = [];
for (const bench of selected) {
  const started = Date.now();
  process.stderr.write(`bench: running ${bench.script}\n`);
  const run = spawnSync('npx', ['tsx', bench.script, ...bench.args], {
    encoding: 'utf8',
    env: { ...process.env, ...bench.env },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const output = run.stdout.trim();
  const body = output.startsWith('{') || output.startsWith('[') ? '```json\n' + output + '\n```' : output;
  const verdict =
    run.status === 0 ? `ran in ${seconds} s` : `FAILED (exit code ${run.status}) after ${seconds} s`;
  sections.push(
    `### ${bench.title}\n\nAsked for: ${bench.claim}.\n\n\`${bench.script}\`, ${verdict}:\n\n${body}\n`,
  );
  if (run.status !== 0) process.exitCode = 1;
}

const BEGIN = '<!-- make bench output: begin (written by bench/run-all.ts; edits here are overwritten) -->';
const END = '<!-- make bench output: end -->';

const header = `## Raw output of the last \`make bench\`

Written by \`make bench\` (bench/run-all.ts) at commit ${commit}; every number below is the output of the
benchmark named above it, as printed. Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}),
${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}
when the run ended. LVM numbers come from a qemu guest under software emulation (TCG, no KVM here), so
they compare like with like inside one run (ratios), not with bare metal.
`;
const previous = (() => {
  try {
    return readFileSync(out, 'utf8');
  } catch {
    return '# Benchmarks\n';
  }
})();
const begin = previous.indexOf(BEGIN);
const end = previous.indexOf(END);
const curated = begin >= 0 ? previous.slice(0, begin) : `${previous.trimEnd()}\n\n`;
const lastRun = begin >= 0 && end > begin ? previous.slice(begin + BEGIN.length, end) : '';
// A partial run (--only) keeps the other benchmarks of the previous run.
const kept = only
  ? lastRun
      .split(/^(?=### )/m)
      .slice(1)
      .filter((s) => !selected.some((b) => s.startsWith(`### ${b.title}`)))
  : [];
writeFileSync(
  out,
  [curated + BEGIN, header, ...kept.map((s) => s.trimEnd() + '\n'), ...sections, END + '\n'].join('\n'),
);
process.stderr.write(`bench: wrote ${out}\n`);
