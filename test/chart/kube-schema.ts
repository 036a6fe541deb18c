import type { RenderedObject } from './helm.js';

/** API groups whose kinds the kubernetes-models package validates (the built-in Kubernetes API). */
const BUILT_IN_GROUPS = new Set([
  '',
  'apps',
  'rbac.authorization.k8s.io',
  'policy',
  'coordination.k8s.io',
  'apiextensions.k8s.io',
]);

interface ValidatingModel {
  validate(): void;
}

type ModelConstructor = new (data: unknown) => ValidatingModel;

/** True when the object is a built-in kind that {@link validateBuiltIn} can check. */
export function isBuiltIn(object: RenderedObject): boolean {
  const group = object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : '';
  return BUILT_IN_GROUPS.has(group);
}

/**
 * Validates a built-in object against the Kubernetes OpenAPI schema compiled into kubernetes-models
 * (types, required fields, enums, formats). Throws an error listing every violation.
 */
export async function validateBuiltIn(object: RenderedObject): Promise<void> {
  if (!isBuiltIn(object)) throw new Error(`${object.apiVersion} ${object.kind} is not a built-in kind`);
  const modulePath = `kubernetes-models/${object.apiVersion}/${object.kind}`;
  const module = (await import(modulePath)) as Record<string, ModelConstructor | undefined>;
  const Model = module[object.kind];
  if (!Model) throw new Error(`${modulePath} has no ${object.kind} model`);
  try {
    new Model(object).validate();
  } catch (error) {
    const details = (error as { errors?: { instancePath: string; message?: string }[] }).errors
      ?.map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`)
      .join('; ');
    throw new Error(`${object.kind} ${object.metadata.name} is invalid: ${details ?? String(error)}`, {
      cause: error,
    });
  }
}
