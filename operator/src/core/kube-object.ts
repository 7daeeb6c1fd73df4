/** The minimum every Kubernetes object the operator writes has. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects). */
export function objectKey(object: Pick<KubeObject, "kind" | "metadata">): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${object.kind}/${namespace}/${name}` : `${object.kind}/${name}`;
}
