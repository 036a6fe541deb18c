/**
 * Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`, `/version`) built from the
 * served resource types, in the legacy (unaggregated) format that client-go and kubectl fall back to.
 */
import { apiVersionOf, RESOURCE_VERBS, type ResourceType } from './resources.js';

/** The version the emulator reports: the Kubernetes API it mimics. */
export const EMULATED_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0' };

/** `/version`. */
export function versionInfo(): Record<string, string> {
  return {
    ...EMULATED_VERSION,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-12-11T00:00:00Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** `/api`. */
export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupOf(name: string, types: ResourceType[]): Record<string, unknown> {
  const versions = [...new Set(types.filter((t) => t.group === name).map((t) => t.version))].sort().reverse();
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

/** `/apis`: every non-core group. */
export function groupList(types: ResourceType[]): Record<string, unknown> {
  const names = [...new Set(types.map((t) => t.group).filter((g) => g !== ''))].sort();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: names.map((name) => groupOf(name, types)) };
}

/** `/apis/<group>`, or undefined when the group is not served. */
export function group(name: string, types: ResourceType[]): Record<string, unknown> | undefined {
  if (!types.some((t) => t.group === name)) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupOf(name, types) };
}

/** `/api/v1` or `/apis/<group>/<version>`, or undefined when not served. */
export function resourceList(
  groupName: string,
  version: string,
  types: ResourceType[],
): Record<string, unknown> | undefined {
  const served = types
    .filter((t) => t.group === groupName && t.version === version)
    .sort((a, b) => a.resource.localeCompare(b.resource));
  if (served.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const rt of served) {
    const entry: Record<string, unknown> = {
      name: rt.resource,
      singularName: rt.singular,
      namespaced: rt.namespaced,
      kind: rt.kind,
      verbs: RESOURCE_VERBS,
    };
    if (rt.shortNames?.length) entry.shortNames = rt.shortNames;
    if (rt.categories?.length) entry.categories = rt.categories;
    resources.push(entry);
    if (rt.statusSubresource) {
      resources.push({
        name: `${rt.resource}/status`,
        singularName: '',
        namespaced: rt.namespaced,
        kind: rt.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    if (rt.extraSubresources?.includes('eviction')) {
      resources.push({
        name: `${rt.resource}/eviction`,
        singularName: '',
        namespaced: true,
        group: 'policy',
        version: 'v1',
        kind: 'Eviction',
        verbs: ['create'],
      });
    }
    if (rt.extraSubresources?.includes('finalize')) {
      resources.push({
        name: `${rt.resource}/finalize`,
        singularName: '',
        namespaced: false,
        kind: rt.kind,
        verbs: ['update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf({ group: groupName, version }),
    resources,
  };
}
