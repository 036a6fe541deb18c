#!/bin/bash
# Returns the test VM's guest to its boot-time state; run in the guest by GuestVm.reset() (test/vm/README.md).
# Stops processes that tests left behind, unmounts test mounts, removes every VG/LV/PV and dm device,
# detaches loop devices, wipes the virtio disks (signatures, first MiBs, discard), stops dmeventd and
# restores /etc/lvm and the scratch dir. Exits non-zero, naming what is left, when the guest is not clean.
set -uo pipefail
export LVM_SUPPRESS_FD_WARNINGS=1
SCRATCH=${THINPOOL_VM_SCRATCH:-/scratch}
AGENT_PID=$PPID

# 1. Processes left by tests (not PID 1, kernel threads, the agent, this script or dmeventd, which lvm
#    still needs to unregister monitored pools).
stray_processes() {
    local dir pid stat fields
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        case "$pid" in 1 | "$AGENT_PID" | "$$" | "$BASHPID") continue ;; esac
        { stat=$(<"$dir/stat"); } 2>/dev/null || continue
        fields=${stat##*) }
        set -- $fields
        # $2 is the parent PID: kernel threads are children of kthreadd (2); skip our own subshells.
        case "$2" in 0 | 2 | "$$") continue ;; esac
        [ "$pid" = 2 ] && continue
        { [ "$(<"$dir/comm")" = dmeventd ]; } 2>/dev/null && continue
        echo "$pid"
    done
}
pids=$(stray_processes)
if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        alive=''
        for pid in $pids; do [ -d "/proc/$pid" ] && alive="$alive $pid"; done
        [ -n "$alive" ] || break
        sleep 0.2
    done
    [ -z "${alive:-}" ] || kill -KILL $alive 2>/dev/null
fi

# 2. Mounts of test devices or inside the scratch dir, innermost first.
awk -v scratch="$SCRATCH" '$1 ~ /^\/dev\/(mapper\/|dm-|vd|loop)/ || index($2, scratch "/") == 1 { print $2 }' /proc/mounts |
    sort -r | while read -r target; do umount -l "$target"; done

# 3. LVM: deactivate and remove everything, then any dm device lvm did not own.
if [ -n "$(ls /sys/block | grep -E '^(dm-|loop|vd)')" ]; then
    vgs=$(lvm vgs --noheadings -o vg_name 2>/dev/null | tr -d ' ')
    if [ -n "$vgs" ]; then
        lvm vgchange -an --force $vgs >/dev/null 2>&1
        lvm vgremove -ff -y $vgs >/dev/null 2>&1
    fi
    pvs=$(lvm pvs --noheadings -o pv_name 2>/dev/null | tr -d ' ')
    [ -z "$pvs" ] || lvm pvremove -ff -y $pvs >/dev/null 2>&1
fi
if [ -n "$(ls /sys/block | grep '^dm-')" ]; then dmsetup remove_all --force >/dev/null 2>&1; fi

# 4. dmeventd: nothing is monitored any more, so it exits on SIGTERM.
for pid in $(pidof dmeventd); do kill -TERM "$pid" 2>/dev/null; done
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -z "$(pidof dmeventd)" ] && break; sleep 0.2; done
for pid in $(pidof dmeventd); do kill -KILL "$pid" 2>/dev/null; done
rm -f /run/dmeventd.pid /run/dmeventd-server /run/dmeventd-client

# 5. Loop devices (their backing files usually live in the scratch dir).
losetup -D 2>/dev/null

# 6. The virtio disks: signatures, the first 4 MiB, then discard (punches holes in the host's sparse file).
for block in /sys/block/vd*; do
    [ -e "$block" ] || continue
    dev=/dev/${block##*/}
    for part in "$block/${block##*/}"*; do [ -e "$part/partition" ] && wipefs -a -q -f "/dev/${part##*/}"; done
    wipefs -a -q -f "$dev"
    dd if=/dev/zero of="$dev" bs=1M count=4 oflag=direct status=none
    blkdiscard -f "$dev" 2>/dev/null
    blockdev --rereadpt "$dev" 2>/dev/null
done
for link in /dev/disk/by-id/*-part*; do [ -e "$link" ] || rm -f "$link"; done

# 7. Files: /etc/lvm as it was at boot, LVM's runtime state, the scratch dir.
if [ -d /run/thinpool-vm/etc-lvm ]; then
    rm -rf /etc/lvm
    cp -a /run/thinpool-vm/etc-lvm /etc/lvm
fi
rm -rf /run/lvm
mkdir -p "$SCRATCH"
find "$SCRATCH" -mindepth 1 -delete

# 8. Verify.
left=''
[ -z "$(ls /sys/block | grep '^dm-')" ] || left="$left dm devices: $(dmsetup ls | tr '\n' ' ');"
[ -z "$(losetup -a)" ] || left="$left loop devices: $(losetup -a | tr '\n' ' ');"
[ -z "$(pidof dmeventd)" ] || left="$left dmeventd still running;"
pvs=$(lvm pvs --noheadings -o pv_name 2>/dev/null | tr -d ' ' | tr '\n' ' ')
[ -z "${pvs// /}" ] || left="$left PVs: $pvs;"
for block in /sys/block/vd*; do
    [ -e "$block" ] || continue
    sig=$(wipefs -n "/dev/${block##*/}" 2>/dev/null | tail -n +2)
    [ -z "$sig" ] || left="$left signatures on /dev/${block##*/};"
done
if [ -n "$left" ]; then
    echo "Reset left the guest unclean:$left" >&2
    exit 1
fi
