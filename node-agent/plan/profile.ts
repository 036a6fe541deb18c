import type { AgentSpec } from '../agent-spec.js';

/**
 * The LVM metadata profile of a pool (`/etc/lvm/profile/<vg>-<pool>.profile`): dmeventd's autoextend
 * threshold and step, exactly the two settings of the Docker direct-lvm procedure.
 */
export function renderProfile(spec: AgentSpec): string {
  return [
    `# Written by thinpool-agent for ThinPool ${spec.thinPool}; changes are overwritten.`,
    'activation {',
    `    thin_pool_autoextend_threshold=${spec.autoExtend.thresholdPercent}`,
    `    thin_pool_autoextend_percent=${spec.autoExtend.extendPercent}`,
    '}',
    '',
  ].join('\n');
}

/** Reads the two autoextend settings back from a profile's text (for status and tests). */
export function parseProfile(content: string): { threshold?: number; percent?: number } {
  const number = (key: string) => {
    const match = new RegExp(`^\\s*${key}\\s*=\\s*(\\d+)\\s*$`, 'm').exec(content);
    return match ? Number(match[1]) : undefined;
  };
  return {
    threshold: number('thin_pool_autoextend_threshold'),
    percent: number('thin_pool_autoextend_percent'),
  };
}
