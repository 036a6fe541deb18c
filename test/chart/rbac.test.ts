import { describe, expect, it } from '@jest/globals';
import { authorized, type PolicyRule } from './rbac.js';

const rules: PolicyRule[] = [
  { apiGroups: ['thinpool.dev'], resources: ['thinpools'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['thinpool.dev'], resources: ['thinpools/status'], verbs: ['patch'] },
];

describe('authorized (RBAC resource rules)', () => {
  it('allows a request that a rule matches by group, resource and verb', () => {
    expect(authorized({ verb: 'watch', group: 'thinpool.dev', resource: 'thinpools' }, rules, [])).toBe(true);
    expect(
      authorized(
        { verb: 'patch', group: 'thinpool.dev', resource: 'thinpools', subresource: 'status' },
        rules,
        [],
      ),
    ).toBe(true);
  });

  it('denies another verb, another group, or the main resource for a subresource grant', () => {
    expect(authorized({ verb: 'delete', group: 'thinpool.dev', resource: 'thinpools' }, rules, [])).toBe(
      false,
    );
    expect(authorized({ verb: 'get', group: 'apps', resource: 'thinpools' }, rules, [])).toBe(false);
    expect(authorized({ verb: 'patch', group: 'thinpool.dev', resource: 'thinpools' }, rules, [])).toBe(
      false,
    );
  });

  it('adds the rules of a Role only where the caller passes them (its namespace)', () => {
    const request = { verb: 'create', group: 'coordination.k8s.io', resource: 'leases' };
    const role: PolicyRule[] = [
      { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    ];
    expect(authorized(request, rules, role)).toBe(true);
    expect(authorized(request, rules, [])).toBe(false);
  });

  it('honours wildcards', () => {
    expect(
      authorized(
        { verb: 'delete', group: 'x', resource: 'y' },
        [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
        [],
      ),
    ).toBe(true);
  });
});
