import type { ObjectMeta } from '../../api/v1alpha1/types.js';

/** The part of every Kubernetes object the runtime relies on. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** Cache key of an object: `namespace/name`, or `name` for cluster-scoped objects (client-go's format). */
export function objectKey(obj: Pick<KubeObject, 'metadata'>): string {
  const name = obj.metadata.name ?? '';
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${name}` : name;
}
