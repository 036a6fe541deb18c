#!/bin/busybox sh
# PID 1 of the test VM (copied into the initramfs by test/vm/setup; see test/vm/README.md).
# Mounts the host root read-only under a RAM overlay, adds the read-write shares, the virtio disks'
# /dev/disk/by-id links and the udev-less LVM settings, then runs the guest agent (test/vm/guest-agent.mjs)
# on the virtio-serial port and powers off when it exits.
# Parameters come from the kernel command line as thinpool.KEY=VALUE (values never contain spaces).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

TP_moddir='' TP_rw='' TP_modules='' TP_node='' TP_agent='' TP_cwd=/ TP_scratch=/scratch TP_verbose=0
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        thinpool.*=*)
            key=${arg%%=*}
            key=${key#thinpool.}
            case "$key" in *[!a-z]*) continue ;; esac
            eval "TP_$key=\${arg#*=}"
            ;;
    esac
done

log() { echo "thinpool-vm-init: $*" >/dev/console; }
# Powering off without an agent makes the host report "the guest died" with this console tail.
fail() {
    log "$*"
    poweroff -f
}

KV=$(uname -r)
echo /bin/modprobe >/proc/sys/kernel/modprobe
for m in $(cat /etc/early-modules); do modprobe "$m" || log "modprobe $m failed"; done

mount -t virtiofs -o ro hostroot /lower || fail "mounting the host root (virtiofs tag hostroot) failed"
mount -t tmpfs -o mode=0755,size=85% upper /upper
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot || fail "overlay mount failed"
R=/newroot

# The full module tree of the guest kernel lives in the host's cache, visible through the host root.
if [ -n "$TP_moddir" ] && [ -d "/lower$TP_moddir" ]; then
    mkdir -p "/lib/modules/$KV" "$R/lib/modules/$KV"
    mount --bind "/lower$TP_moddir" "/lib/modules/$KV"
    mount --bind "/lower$TP_moddir" "$R/lib/modules/$KV"
else
    log "no module tree at '$TP_moddir'"
fi

mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
# udev would add these: bash's process substitution (<(...)) needs /dev/fd.
ln -sfn /proc/self/fd $R/dev/fd
ln -sfn /proc/self/fd/0 $R/dev/stdin
ln -sfn /proc/self/fd/1 $R/dev/stdout
ln -sfn /proc/self/fd/2 $R/dev/stderr
ln -sfn /proc/kcore $R/dev/core
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 shm $R/dev/shm
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
mount -t tmpfs -o mode=0755 run $R/run
mkdir -p $R/run/lock $R/run/thinpool-vm
# No tmpfs on /tmp: it would hide the host's /tmp; the overlay's upper layer is RAM anyway.

# Read-write shares: tag:path pairs separated by commas, mounted at the same path as on the host.
for share in $(echo "$TP_rw" | tr ',' ' '); do
    tag=${share%%:*}
    dir=${share#*:}
    mkdir -p "$R$dir"
    mount -t virtiofs "$tag" "$R$dir" || fail "mounting share $tag on $dir failed"
done

hostname thinpool-vm
ip link set lo up

# No udev in the guest: libdevmapper and LVM must create /dev/mapper nodes and /dev/VG/LV links
# themselves (otherwise lvcreate fails with "not found: device not cleared").
if [ -d $R/etc/lvm ]; then
    printf '\n# Added by the thinpool-operator test VM (no udev in the guest).\nactivation {\n    udev_sync = 0\n    udev_rules = 0\n}\n' >>$R/etc/lvm/lvmlocal.conf
    # reset() restores /etc/lvm to this boot-time state (profiles, backups, archives, devices file).
    cp -a $R/etc/lvm $R/run/thinpool-vm/etc-lvm
fi
# The host may have no kmod: busybox's modprobe, on the bound module tree, serves lvm and the tests.
if ! [ -x $R/sbin/modprobe ] && ! [ -x $R/usr/sbin/modprobe ]; then
    mkdir -p $R/usr/local/sbin
    for tool in modprobe lsmod insmod rmmod; do ln -sf /bin/busybox $R/usr/local/sbin/$tool; done
fi
for m in $(echo "$TP_modules" | tr ',' ' '); do modprobe "$m" || log "modprobe $m failed"; done

# udev would create /dev/disk/by-id/virtio-<serial> for every virtio disk (qemu serial=NAME).
mkdir -p /dev/disk/by-id
for block in /sys/block/vd*; do
    [ -e "$block" ] || continue
    dev=${block##*/}
    serial=$(cat "$block/serial" 2>/dev/null)
    [ -n "$serial" ] || continue
    ln -sfn "../../$dev" "/dev/disk/by-id/virtio-$serial"
    for part in "$block/$dev"*; do
        [ -e "$part/partition" ] || continue
        ln -sfn "../../${part##*/}" "/dev/disk/by-id/virtio-$serial-part$(cat "$part/partition")"
    done
done

mkdir -p "$R$TP_scratch"
# reset() removes directories that appear in /dev later and hold only dangling links (a VG's /dev/VG).
ls /dev >$R/run/thinpool-vm/dev-at-boot

port=''
for p in /sys/class/virtio-ports/*; do
    if [ "$(cat "$p/name" 2>/dev/null)" = thinpool.agent ]; then port=/dev/${p##*/}; fi
done
[ -n "$port" ] || fail "no virtio-serial port named thinpool.agent"
[ -n "$TP_node" ] && [ -n "$TP_agent" ] || fail "thinpool.node and thinpool.agent must be set"

[ "$TP_verbose" = 1 ] || echo 1 >/proc/sys/kernel/printk
# Guest uptime when the agent starts: with the agent's own "ready" uptime it splits the boot time (bench).
cut -d' ' -f1 /proc/uptime >$R/run/thinpool-vm/agent-started-uptime
chroot $R /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb \
    DM_DISABLE_UDEV=1 THINPOOL_VM_GUEST=1 THINPOOL_VM_SCRATCH="$TP_scratch" \
    "$TP_node" "$TP_agent" --channel "$port" --cwd "$TP_cwd" </dev/null >/dev/console 2>&1
log "guest agent exited with code $?"
sync
poweroff -f
