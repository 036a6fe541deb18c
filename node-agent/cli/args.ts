/** Parsed command line of `thinpool-agent`. */
export interface CliArgs {
  command: 'apply' | 'status' | 'destroy';
  file: string;
  node?: string;
  dryRun: boolean;
  output: 'table' | 'json';
  yesDestroyData: boolean;
  host: 'local' | 'nsenter';
  hostRoot: string;
}

/** The usage text. */
export const USAGE = `Usage:
  thinpool-agent apply -f thinpool.yaml [--node NAME] [--dry-run] [--output table|json]
  thinpool-agent status -f thinpool.yaml [--node NAME] [--output table|json]
  thinpool-agent destroy -f thinpool.yaml --yes-destroy-data [--output table|json]
  thinpool-agent run [flags]   The in-cluster agent (the DaemonSet's command); see thinpool-agent run --help.

apply builds the pool, then points the runtime of spec.runtime (docker or containerd) at it and waits for
the verified switch (or its rollback); status also shows the runtime.

Options:
  -f, --file PATH        The ThinPool manifest (YAML).
  --node NAME            Node name for messages and status (default: the host name).
  --dry-run              Print the plan, change nothing.
  -o, --output FORMAT    table (default) or json.
  --yes-destroy-data     Confirm that destroy removes the pool and all data in it.
  --host local|nsenter   Run on this machine (default) or in the namespaces of PID 1 (in a pod).
  --host-root PATH       Where the host's / is mounted with --host nsenter (default /host).

Exit codes: 0 done, 1 failed, 2 bad input (spec or arguments), 3 refused for safety.`;

/** A command line that cannot be run. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `thinpool-agent` arguments (without the program name). Throws {@link UsageError}. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const [command, ...rest] = argv;
  if (command !== 'apply' && command !== 'status' && command !== 'destroy') {
    throw new UsageError(command ? `Unknown command ${JSON.stringify(command)}` : 'Missing command');
  }
  const args: CliArgs = {
    command,
    file: '',
    dryRun: false,
    output: 'table',
    yesDestroyData: false,
    host: 'local',
    hostRoot: '/host',
  };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => {
      const v = inline ?? rest[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-f':
      case '--file':
        args.file = value();
        break;
      case '--node':
        args.node = value();
        break;
      case '--dry-run':
        if (command !== 'apply') throw new UsageError('--dry-run is an option of apply');
        args.dryRun = true;
        break;
      case '-o':
      case '--output': {
        const v = value();
        if (v !== 'table' && v !== 'json')
          throw new UsageError(`--output must be table or json, not ${JSON.stringify(v)}`);
        args.output = v;
        break;
      }
      case '--yes-destroy-data':
        if (command !== 'destroy') throw new UsageError('--yes-destroy-data is an option of destroy');
        args.yesDestroyData = true;
        break;
      case '--host': {
        const v = value();
        if (v !== 'local' && v !== 'nsenter')
          throw new UsageError(`--host must be local or nsenter, not ${JSON.stringify(v)}`);
        args.host = v;
        break;
      }
      case '--host-root':
        args.hostRoot = value();
        break;
      default:
        throw new UsageError(`Unknown option ${JSON.stringify(arg)}`);
    }
  }
  if (!args.file) throw new UsageError('-f FILE is required');
  if (command === 'destroy' && !args.yesDestroyData) {
    throw new UsageError('destroy removes the pool and all data in it: confirm with --yes-destroy-data');
  }
  return args;
}
