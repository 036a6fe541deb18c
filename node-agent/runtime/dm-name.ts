/**
 * Device-mapper names of LVM logical volumes. LVM joins the VG and LV names with a hyphen and doubles
 * every hyphen inside either name, so `my-vg/thin-pool` becomes `my--vg-thin--pool`.
 */

/** Characters LVM accepts in VG and LV names. */
const LVM_NAME = /^[A-Za-z0-9+_.][A-Za-z0-9+_.-]*$/;

function escapeLvmName(kind: string, name: string): string {
  if (!LVM_NAME.test(name) || name === '.' || name === '..') {
    throw new Error(`Invalid LVM ${kind} name ${JSON.stringify(name)}: use letters, digits and + _ . -`);
  }
  return name.replace(/-/g, '--');
}

/** The device-mapper name of `vg/lv` (`docker-thinpool`, `my--vg-thinpool`). Throws on an invalid name. */
export function dmPoolName(vg: string, lv: string): string {
  return `${escapeLvmName('volume group', vg)}-${escapeLvmName('logical volume', lv)}`;
}

/** The device node of `vg/lv` under `/dev/mapper` (`/dev/mapper/docker-thinpool`). */
export function dmName(vg: string, lv: string): string {
  return `/dev/mapper/${dmPoolName(vg, lv)}`;
}

/**
 * The device-mapper name a `dm.thinpooldev` value refers to: Docker accepts both `/dev/mapper/NAME` and a
 * bare `NAME`.
 */
export function thinPoolDevName(value: string): string {
  return value.startsWith('/dev/mapper/') ? value.slice('/dev/mapper/'.length) : value;
}
