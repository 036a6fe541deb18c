/**
 * The host-side one-shot that switches a container runtime's storage. The agent writes it to the host and
 * starts it detached (`systemd-run`, else `setsid -f`), so it survives the agent pod that the restart may
 * kill. It is POSIX sh because a host has no Node.js; every value reaches it as a separate argument and it
 * evaluates nothing. Its state is the result file the agent reads back ({@link parseSwitchResult}).
 *
 * Switch: stop, move the data root aside (when asked), install the staged configuration, start, verify
 * (`docker info` driver and pool name; `ctr plugins ls` devmapper `ok`). Any failure: restore the backup
 * configuration and the data root, start again, record `rolled-back` with the runtime's own error line.
 * Recover (`--mode recover`): undo an interrupted switch from what its result file records.
 */

/** Content of `runtime-switch.sh`. */
export const SWITCH_SCRIPT = `#!/bin/sh
# thinpool-agent runtime switch: a one-shot written and started by the thinpool node agent.
# It runs on the host, outside the agent, so it outlives an agent pod that the runtime restart kills:
# stop the runtime, move its data root aside when asked (never delete), install the staged
# configuration, start the runtime and verify it uses the pool. On any failure it restores the previous
# configuration and data root and starts the runtime again. Progress and outcome go to the result file
# (key=value lines, replaced atomically), which the agent reads when it comes back.
# Every value arrives as a separate argument; nothing is evaluated.
set -u
if [ "\${THINPOOL_SWITCH_CLEAN_ENV:-}" != 1 ]; then
  exec env -i THINPOOL_SWITCH_CLEAN_ENV=1 LC_ALL=C \\
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh "$0" "$@"
fi

mode=switch id='' attempt=1 runtime='' result='' log='' config='' staged='' backup='' config_existed=no
data_root='' data_root_backup='' restart='' main_unit='' extra_units='' init_script='' daemon_pid=''
daemon_log='' reason_log='' docker_cli=docker docker_host='' expect_pool='' ctr=ctr
address=/run/containerd/containerd.sock timeout=120
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    --*) [ $# -ge 2 ] || { echo "runtime-switch: $1 needs a value" >&2; exit 2; } ;;
  esac
  case "$1" in
    --mode) mode=$2 ;;
    --id) id=$2 ;;
    --attempt) attempt=$2 ;;
    --runtime) runtime=$2 ;;
    --result) result=$2 ;;
    --log) log=$2 ;;
    --config) config=$2 ;;
    --staged) staged=$2 ;;
    --backup) backup=$2 ;;
    --config-existed) config_existed=$2 ;;
    --data-root) data_root=$2 ;;
    --data-root-backup) data_root_backup=$2 ;;
    --restart) restart=$2 ;;
    --unit) if [ -z "$main_unit" ]; then main_unit=$2; else extra_units="$extra_units $2"; fi ;;
    --init-script) init_script=$2 ;;
    --pid) daemon_pid=$2 ;;
    --daemon-log) daemon_log=$2 ;;
    --reason-log) reason_log=$2 ;;
    --docker-cli) docker_cli=$2 ;;
    --docker-host) docker_host=$2 ;;
    --expect-pool) expect_pool=$2 ;;
    --ctr) ctr=$2 ;;
    --address) address=$2 ;;
    --timeout) timeout=$2 ;;
    *) echo "runtime-switch: unknown argument $1" >&2; exit 2 ;;
  esac
  shift 2
done
# "$@" is now the command that starts the daemon (Signal strategy only).
case "$runtime" in docker | containerd) ;; *) echo "runtime-switch: --runtime docker|containerd" >&2; exit 2 ;; esac
case "$restart" in systemd | init-script | signal) ;; *) echo "runtime-switch: bad --restart" >&2; exit 2 ;; esac
if [ -z "$id" ] || [ -z "$result" ] || [ -z "$log" ]; then
  echo "runtime-switch: --id, --result and --log are required" >&2
  exit 2
fi

mkdir -p "$(dirname "$result")" "$(dirname "$log")"
exec >>"$log" 2>&1 </dev/null

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
say() { printf '%s [%s %s/%s] %s\\n' "$(now)" "$runtime" "$id" "$attempt" "$*"; }
oneline() { printf '%s' "$1" | tr '\\n\\r\\t' '   ' | cut -c1-1500; }

started=$(now) step=started moved=no configured=no verified=''
write_result() { # STATE MESSAGE
  {
    printf 'id=%s\\n' "$id"
    printf 'attempt=%s\\n' "$attempt"
    printf 'runtime=%s\\n' "$runtime"
    printf 'state=%s\\n' "$1"
    printf 'pid=%s\\n' "$$"
    printf 'started=%s\\n' "$started"
    printf 'updated=%s\\n' "$(now)"
    printf 'step=%s\\n' "$step"
    printf 'moved=%s\\n' "$moved"
    printf 'configured=%s\\n' "$configured"
    printf 'verified=%s\\n' "$(oneline "$verified")"
    printf 'message=%s\\n' "$(oneline "$2")"
  } >"$result.tmp" && sync "$result.tmp" && mv -f "$result.tmp" "$result"
  say "state=$1 step=$step: $2"
}

# A process is alive unless it is gone or a zombie (a daemon started here is our child until we exit).
pid_alive() {
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  [ "$(sed -n 's/^[0-9]* (.*) \\([A-Za-z]\\) .*/\\1/p' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

wait_gone() { # PID SECONDS
  n=0
  while pid_alive "$1"; do
    n=$((n + 1))
    [ "$n" -gt $(($2 * 5)) ] && return 1
    sleep 0.2
  done
  return 0
}

daemon_alive() {
  case "$restart" in
    systemd)
      s=$(systemctl is-active "$main_unit" 2>/dev/null)
      [ "$s" = active ] || [ "$s" = activating ] || [ "$s" = reloading ]
      ;;
    init-script) "$init_script" status >/dev/null 2>&1 ;;
    signal) pid_alive "$daemon_pid" ;;
  esac
}

stop_daemon() {
  say "Stopping $runtime ($restart)"
  case "$restart" in
    systemd)
      # Stop socket units first, or a client could activate the daemon again mid-switch.
      for u in $extra_units; do systemctl stop "$u" || true; done
      systemctl stop "$main_unit"
      ;;
    init-script) "$init_script" stop ;;
    signal)
      if pid_alive "$daemon_pid"; then
        kill -TERM "$daemon_pid"
        if ! wait_gone "$daemon_pid" "$timeout"; then
          say "$runtime did not stop within $timeout s, sending SIGKILL"
          kill -KILL "$daemon_pid"
          wait_gone "$daemon_pid" 10
        fi
      fi
      ;;
  esac
}

start_daemon() { # START COMMAND... (Signal strategy)
  say "Starting $runtime ($restart)"
  reason_offset=0
  if [ -n "$reason_log" ] && [ -f "$reason_log" ]; then reason_offset=$(wc -c <"$reason_log" | tr -d ' '); fi
  start_epoch=$(date +%s)
  case "$restart" in
    systemd)
      systemctl start "$main_unit"
      for u in $extra_units; do systemctl start "$u" || true; done
      ;;
    init-script) "$init_script" start ;;
    signal)
      [ $# -gt 0 ] || { say "No start command given"; return 1; }
      setsid "$@" >>"$daemon_log" 2>&1 </dev/null &
      daemon_pid=$!
      ;;
  esac
}

docker_query() { # prints VERSION|DRIVER|POOL
  f='{{.ServerVersion}}|{{.Driver}}|{{range .DriverStatus}}{{if eq (index . 0) "Pool Name"}}{{index . 1}}{{end}}{{end}}'
  if [ -n "$docker_host" ]; then
    "$docker_cli" -H "$docker_host" info --format "$f" 2>/dev/null
  else
    "$docker_cli" info --format "$f" 2>/dev/null
  fi
}

runtime_up() {
  case "$runtime" in
    docker) v=$(docker_query) && [ "\${v%%|*}" != '' ] ;;
    containerd) [ -S "$address" ] && "$ctr" --address "$address" --connect-timeout 2s version >/dev/null 2>&1 ;;
  esac
}

wait_up() { # waits until the runtime answers; fails early when its process is gone
  n=0
  while ! runtime_up; do
    if ! daemon_alive; then
      sleep 1
      runtime_up && return 0
      say "$runtime exited"
      return 1
    fi
    n=$((n + 1))
    if [ "$n" -gt $((timeout * 2)) ]; then
      say "$runtime did not answer within $timeout s"
      return 1
    fi
    sleep 0.5
  done
  return 0
}

# What the runtime reports now; sets $verified. Succeeds when it uses the pool.
verify() {
  case "$runtime" in
    docker)
      v=$(docker_query)
      rest=\${v#*|}
      driver=\${rest%%|*}
      pool=\${rest#*|}
      verified="storage driver $driver\${pool:+, pool $pool}"
      [ "$driver" = devicemapper ] && [ "$pool" = "$expect_pool" ]
      ;;
    containerd)
      status=$("$ctr" --address "$address" --connect-timeout 2s plugins ls 2>/dev/null |
        awk '$1 == "io.containerd.snapshotter.v1" && $2 == "devmapper" { print $4 }')
      verified="devmapper $status"
      [ "$status" = ok ]
      ;;
  esac
}

failure_reason() { # the runtime's last error line since this start
  {
    if [ "$restart" = systemd ]; then
      journalctl -u "$main_unit" --since "@$start_epoch" --no-pager -o cat 2>/dev/null
    elif [ -n "$reason_log" ] && [ -f "$reason_log" ]; then
      tail -c +$((reason_offset + 1)) "$reason_log"
    fi
  } | grep -E 'failed to start daemon|level=(error|fatal)|devmapper' | grep -v 'Udev sync is not supported' |
    tail -n 1 | cut -c1-600
}

unmount_tree() { # unmounts PATH and everything below it, deepest first
  awk -v p="$1" '$2 == p || index($2, p "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do
      say "Unmounting $m"
      umount "$m" || umount -l "$m"
    done
}

restore_config() {
  if [ "$config_existed" = yes ]; then
    cp -p "$backup" "$config.thinpool-tmp" && mv -f "$config.thinpool-tmp" "$config" && configured=no
  else
    mv -f "$config" "$config.thinpool-failed" && configured=no
  fi
  say "Restored $config (configured=$configured)"
}

restore_data_root() {
  unmount_tree "$data_root"
  if [ -e "$data_root" ]; then
    aside="$data_root.thinpool-failed.$(date +%s)"
    say "Moving the failed attempt's $data_root to $aside"
    mv "$data_root" "$aside" || return 1
  fi
  mv "$data_root_backup" "$data_root" && moved=no
  say "Restored $data_root (moved=$moved)"
}

# Stops the runtime and restores what the result records as changed. Fails when something stays changed.
undo_changes() {
  if daemon_alive; then stop_daemon || say "Stopping $runtime failed"; fi
  [ "$configured" = yes ] && restore_config
  [ "$moved" = yes ] && restore_data_root
  [ "$configured" != yes ] && [ "$moved" != yes ]
}

# Restores what this switch changed and starts the runtime on it. Usage: rollback REASON [START...]
rollback() {
  reason=$1
  shift
  step=rollback
  write_result running "rolling back: $reason"
  if ! undo_changes; then
    write_result rollback-failed "$reason; could not restore the previous configuration and data root"
    exit 1
  fi
  start_daemon "$@"
  if wait_up; then
    verify || true
    step=rolled-back
    write_result rolled-back "$reason; rolled back: $runtime runs on the previous configuration ($verified)"
  else
    write_result rollback-failed "$reason; rolled back, but $runtime did not start again: $(failure_reason)"
  fi
  exit 1
}

[ "$restart" = systemd ] && systemctl daemon-reload

if [ "$mode" = recover ]; then
  # The previous run was interrupted (killed, or the host rebooted): undo what its result file records.
  if [ -f "$result" ]; then
    started=$(sed -n 's/^started=//p' "$result")
    moved=$(sed -n 's/^moved=//p' "$result")
    configured=$(sed -n 's/^configured=//p' "$result")
  fi
  say "Recovering an interrupted switch (moved=$moved configured=$configured)"
  step=recover
  if ! undo_changes; then
    write_result rollback-failed "interrupted switch: could not restore the previous configuration and data root"
    exit 1
  fi
  start_daemon "$@"
  wait_up || true
  write_result recovered "interrupted switch undone; the switch will be retried"
  exit 0
fi

say "Started switch"
write_result running "switch started"
if ! stop_daemon; then
  write_result failed "could not stop $runtime; nothing was changed"
  exit 1
fi
if runtime_up; then
  # Stopped by the wrong means (say, an init script for a daemon it did not start): touch nothing.
  write_result failed "$runtime still answers after stopping it ($restart); nothing was changed"
  exit 1
fi
step=stopped
if [ -n "$data_root_backup" ] && [ -e "$data_root" ]; then
  if [ -e "$data_root_backup" ]; then rollback "$data_root_backup already exists" "$@"; fi
  unmount_tree "$data_root"
  if ! mv "$data_root" "$data_root_backup"; then rollback "could not move $data_root to $data_root_backup" "$@"; fi
  moved=yes step=moved
  write_result running "moved $data_root to $data_root_backup"
fi
mkdir -p "$(dirname "$config")"
install_config() {
  cp "$staged" "$config.thinpool-tmp" || return 1
  # Keep the owner and mode the file had (a daemon.json may be private).
  if [ -e "$config" ]; then
    chown --reference="$config" "$config.thinpool-tmp" 2>/dev/null
    chmod --reference="$config" "$config.thinpool-tmp" 2>/dev/null
  fi
  mv -f "$config.thinpool-tmp" "$config"
}
if ! install_config; then
  rollback "could not install $config" "$@"
fi
configured=yes step=configured
write_result running "installed $config"
start_daemon "$@" || rollback "could not start $runtime: $(failure_reason)" "$@"
step='started-daemon'
wait_up || rollback "$runtime did not come up: $(failure_reason)" "$@"
if verify; then
  step=verified
  write_result succeeded "$runtime verified: $verified"
  exit 0
fi
rollback "verification failed, $runtime reports \\"$verified\\": $(failure_reason)" "$@"
`;

/** How the one-shot restarts the runtime (the script's `--restart`). */
export type ScriptRestart = 'systemd' | 'init-script' | 'signal';

/** Everything one run of the one-shot needs; becomes its argument list. */
export interface SwitchRequest {
  mode: 'switch' | 'recover';
  /** Identifies the desired configuration; the result file carries it back. */
  id: string;
  /** Counts launches of the same id (a retry after recovery), so a stale result is never taken for this one. */
  attempt: number;
  runtime: 'docker' | 'containerd';
  resultPath: string;
  logPath: string;
  configPath: string;
  stagedPath: string;
  backupPath: string;
  /** The configuration file existed before (else rollback moves ours aside instead of restoring). */
  configExisted: boolean;
  /** Move `dataRoot` to `dataRootBackup` before starting on the pool. */
  dataRootMove?: { dataRoot: string; dataRootBackup: string };
  restart: ScriptRestart;
  /** systemd: the main unit first, then units stopped before it (sockets). */
  units?: string[];
  initScript?: string;
  /** Signal: the running daemon. */
  daemonPid?: number;
  /** Signal: where the restarted daemon's output goes. */
  daemonLog?: string;
  /** Where the runtime logs its startup errors (for the failure reason). */
  reasonLog?: string;
  dockerCli?: string;
  expectPool?: string;
  ctrCli?: string;
  containerdAddress?: string;
  timeoutSeconds: number;
  /** Signal: the command that starts the daemon (`env -i KEY=value ... /usr/sbin/dockerd ...`). */
  startCommand?: string[];
}

/** The script's arguments for a request, in a fixed order. */
export function switchScriptArgs(request: SwitchRequest): string[] {
  const args = ['--mode', request.mode, '--id', request.id, '--attempt', String(request.attempt)];
  args.push('--runtime', request.runtime);
  args.push('--result', request.resultPath, '--log', request.logPath);
  args.push('--config', request.configPath, '--staged', request.stagedPath, '--backup', request.backupPath);
  args.push('--config-existed', request.configExisted ? 'yes' : 'no');
  if (request.dataRootMove) {
    args.push(
      '--data-root',
      request.dataRootMove.dataRoot,
      '--data-root-backup',
      request.dataRootMove.dataRootBackup,
    );
  }
  args.push('--restart', request.restart);
  for (const unit of request.units ?? []) args.push('--unit', unit);
  if (request.initScript) args.push('--init-script', request.initScript);
  if (request.daemonPid !== undefined) args.push('--pid', String(request.daemonPid));
  if (request.daemonLog) args.push('--daemon-log', request.daemonLog);
  if (request.reasonLog) args.push('--reason-log', request.reasonLog);
  if (request.dockerCli) args.push('--docker-cli', request.dockerCli);
  if (request.expectPool) args.push('--expect-pool', request.expectPool);
  if (request.ctrCli) args.push('--ctr', request.ctrCli);
  if (request.containerdAddress) args.push('--address', request.containerdAddress);
  args.push('--timeout', String(request.timeoutSeconds));
  if (request.startCommand?.length) args.push('--', ...request.startCommand);
  return args;
}

/**
 * The command that starts the one-shot detached from the agent: a transient systemd unit when systemd
 * runs the host (its own cgroup, so stopping the runtime or the agent pod cannot kill it), else a new
 * session with `setsid -f`.
 */
export function launchArgv(
  systemdRun: boolean,
  scriptPath: string,
  args: readonly string[],
  request: Pick<SwitchRequest, 'runtime' | 'id' | 'attempt'>,
): string[] {
  if (systemdRun) {
    return [
      'systemd-run',
      `--unit=thinpool-runtime-switch-${request.runtime}-${request.id}-${request.attempt}`,
      '--collect',
      '--quiet',
      '/bin/sh',
      scriptPath,
      ...args,
    ];
  }
  return ['setsid', '-f', '/bin/sh', scriptPath, ...args];
}
