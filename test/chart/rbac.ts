/** An RBAC PolicyRule (resource rules only). */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** An API request as the emulator logs it. */
export interface ResourceRequest {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

/** `resource` or `resource/subresource`, as RBAC rules name it. */
function resourceOf(request: ResourceRequest): string {
  return request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
}

/** `verb resource[/subresource]`: how the tests list the calls a program must make. */
export function callOf(request: ResourceRequest): string {
  return `${request.verb} ${resourceOf(request)}`;
}

/** `verb group/resource[/subresource] ns=namespace`: a denied request, in a failure message. */
export function describeRequest(request: ResourceRequest): string {
  return `${request.verb} ${request.group}/${resourceOf(request)} ns=${request.namespace ?? ''}`;
}

function matches(rule: PolicyRule, request: ResourceRequest): boolean {
  const resource = resourceOf(request);
  return (
    (rule.apiGroups.includes('*') || rule.apiGroups.includes(request.group)) &&
    (rule.resources.includes('*') || rule.resources.includes(resource)) &&
    (rule.verbs.includes('*') || rule.verbs.includes(request.verb))
  );
}

/**
 * Kubernetes RBAC's decision for one request: allowed when a cluster-wide rule matches, or a rule of a Role
 * bound in the request's namespace does (pass those rules only for requests in that namespace).
 */
export function authorized(
  request: ResourceRequest,
  clusterRules: PolicyRule[],
  namespaceRules: PolicyRule[],
): boolean {
  return [...clusterRules, ...namespaceRules].some((rule) => matches(rule, request));
}
