#!/bin/bash
# Returns the test VM's guest to its boot-time state; run in the guest by GuestVm.reset() (test/vm/README.md).
# Stops processes that tests left behind, unmounts test mounts, removes every VG/LV/PV and dm device,
# detaches loop devices, wipes the virtio disks that were written (first 4 MiB zeroed, the rest discarded),
# stops dmeventd and restores /etc/lvm, /run/lvm and the scratch dir. Exits non-zero, naming what is left,
# when the guest is not clean.
# Every program started costs 30-300 ms under emulation: checks use bash builtins and /proc, /sys.
set -uo pipefail
shopt -s nullglob dotglob
export LVM_SUPPRESS_FD_WARNINGS=1
SCRATCH=${THINPOOL_VM_SCRATCH:-/scratch}
STATE=/run/thinpool-vm

# This script's ancestors (the guest agent, any wrapper shell) survive the reset.
declare -A KEEP=([1]=1 [2]=1)
pid=$$
while [ "$pid" -gt 2 ]; do
    KEEP[$pid]=1
    read -r stat <"/proc/$pid/stat"
    fields=${stat##*) }
    set -- $fields
    pid=$2
done

# Fills PROCS with user processes other than this script and its ancestors, and DMEVENTD with dmeventd's.
scan_processes() {
    local dir pid stat fields comm
    PROCS=() DMEVENTD=()
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        [ -z "${KEEP[$pid]:-}" ] || continue
        [ "$pid" != "$BASHPID" ] || continue
        { read -r stat <"$dir/stat"; } 2>/dev/null || continue
        fields=${stat##*) }
        set -- $fields
        # $1 is the state (a zombie is gone already); $2 is the parent: kernel threads are children of
        # kthreadd (2); our own subshells of this script.
        [ "$1" != Z ] || continue
        case "$2" in 0 | 2 | "$$") continue ;; esac
        comm=${stat#*(}
        comm=${comm%%)*}
        if [ "$comm" = dmeventd ]; then DMEVENTD+=("$pid"); else PROCS+=("$pid"); fi
    done
}

# True while PID exists and is not a zombie.
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# stop_processes PID...: SIGTERM, up to 2 s for them to go, then SIGKILL.
stop_processes() {
    local pid alive i
    [ $# -gt 0 ] || return 0
    kill -TERM "$@" 2>/dev/null
    for i in 1 2 3 4 5 6 7 8 9 10; do
        alive=()
        for pid in "$@"; do alive "$pid" && alive+=("$pid"); done
        [ ${#alive[@]} -gt 0 ] || return 0
        sleep 0.2
    done
    kill -KILL "${alive[@]}" 2>/dev/null
}

# Set DM and LOOPS to the number of dm devices and of attached loop devices (no subshell).
count_devices() {
    local d=(/sys/block/dm-*) l=(/sys/block/loop*/loop/backing_file)
    DM=${#d[@]} LOOPS=${#l[@]}
}

# 1. Processes left by tests (dmeventd stays until LVM has unregistered its pools).
scan_processes
stop_processes "${PROCS[@]}"

# 2. Mounts of test devices or inside the scratch dir, innermost first.
mounts=()
while read -r source target _; do
    case "$source" in /dev/mapper/* | /dev/dm-* | /dev/vd* | /dev/loop*) mounts=("$target" "${mounts[@]}") ;; *)
        case "$target" in "$SCRATCH"/*) mounts=("$target" "${mounts[@]}") ;; esac ;;
    esac
done </proc/mounts
for target in "${mounts[@]}"; do umount -l "$target"; done

# 3. Device-mapper: resume what a killed command left suspended (LVM would block on it), then let LVM
#    remove its VGs and PVs, then remove whatever dm device is left.
count_devices
if [ "$DM" -gt 0 ]; then
    while read -r name suspended; do
        [ "$suspended" = Suspended ] && dmsetup resume "$name"
    done < <(dmsetup info -c --noheadings --separator ' ' -o name,suspended 2>/dev/null)
fi
count_devices
if [ "$DM" -gt 0 ] || [ "$LOOPS" -gt 0 ]; then
    vgs=() pvs=()
    while read -r pv vg; do
        pvs+=("$pv")
        [ -n "${vg:-}" ] && vgs+=("$vg")
    done < <(lvm pvs --noheadings -o pv_name,vg_name 2>/dev/null)
    [ ${#vgs[@]} -eq 0 ] || lvm vgremove -ff -y $(printf '%s\n' "${vgs[@]}" | sort -u) >/dev/null 2>&1
    [ ${#pvs[@]} -eq 0 ] || lvm pvremove -ff -y "${pvs[@]}" >/dev/null 2>&1
fi
count_devices
[ "$DM" -eq 0 ] || dmsetup remove_all --force >/dev/null 2>&1

# /dev/VG directories LVM left behind (only dangling links in them), which would make vgcreate VG fail.
declare -A AT_BOOT=()
while read -r name; do AT_BOOT[$name]=1; done <"$STATE/dev-at-boot"
for dir in /dev/*/; do
    dir=${dir%/}
    [ -z "${AT_BOOT[${dir#/dev/}]:-}" ] || continue
    stale=1
    for entry in "$dir"/*; do if [ ! -L "$entry" ] || [ -e "$entry" ]; then stale=0; fi; done
    [ "$stale" = 0 ] || rm -rf "$dir"
done

# 4. dmeventd: nothing is monitored any more, so it exits on SIGTERM.
scan_processes
stop_processes "${DMEVENTD[@]}"

# 5. Loop devices (their backing files usually live in the scratch dir).
count_devices
[ "$LOOPS" -eq 0 ] || losetup -D

# 6. Virtio disks written since the last reset (the kernel's write counter says which): discard all (holes
#    in the host's sparse file), zero the first 4 MiB, drop partitions.
for block in /sys/block/vd*; do
    dev=${block##*/}
    read -r _ _ _ _ writes _ <"$block/stat"
    wiped_at=''
    [ -f "$STATE/writes-$dev" ] && read -r wiped_at <"$STATE/writes-$dev"
    [ "$writes" = "$wiped_at" ] && continue
    blkdiscard -f "/dev/$dev" 2>/dev/null
    dd if=/dev/zero of="/dev/$dev" bs=1M count=4 oflag=direct status=none
    parts=("$block/$dev"*)
    [ ${#parts[@]} -eq 0 ] || blockdev --rereadpt "/dev/$dev" 2>/dev/null
    read -r _ _ _ _ writes _ <"$block/stat"
    echo "$writes" >"$STATE/writes-$dev"
done
for link in /dev/disk/by-id/*-part*; do [ -e "$link" ] || rm -f "$link"; done

# 7. Files: /etc/lvm as it was at boot (profiles, backups, archives, devices file), no LVM runtime state
#    (hints, locks), an empty scratch dir.
rm -rf /etc/lvm /run/lvm "$SCRATCH"/*
[ -d "$STATE/etc-lvm" ] && cp -a "$STATE/etc-lvm" /etc/lvm

# 8. Verify.
left=''
count_devices
[ "$DM" -eq 0 ] || left="$left dm devices: $(dmsetup ls | tr '\n' ' ');"
[ "$LOOPS" -eq 0 ] || left="$left loop devices: $(losetup -a | tr '\n' ' ');"
scan_processes
[ ${#DMEVENTD[@]} -eq 0 ] || left="$left dmeventd still running;"
[ ${#PROCS[@]} -eq 0 ] || left="$left processes ${PROCS[*]} still running;"
if [ -n "$left" ]; then
    echo "Reset left the guest unclean:$left" >&2
    exit 1
fi
