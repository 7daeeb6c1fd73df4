import { randomBytes } from "node:crypto";
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type V1Namespace,
  Watch,
} from "@kubernetes/client-node";

/** A KubeConfig read from a kubeconfig file (e.g. inject("k8s").kubeconfig). */
export function kubeConfigFrom(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * Watches `path` (a collection URL such as /api/v1/namespaces/ns/pods) and resolves
 * with the first object for which `done(type, object)` is true. Objects that already
 * match count: the watch replays existing objects first.
 */
export async function watchUntil<T = unknown>(
  kc: KubeConfig,
  path: string,
  /** fieldSelector, labelSelector, resourceVersion (watch from there; default: replay current objects first). */
  query: Record<string, string>,
  done: (type: string, object: T) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  let abort: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
        timeoutMs,
      );
      new Watch(kc)
        .watch(
          path,
          query,
          (type, object: T) => {
            if (done(type, object)) resolve(object);
          },
          (error: unknown) =>
            reject(
              new Error(`the watch for ${what} ended: ${String(error ?? "closed by the server")}`),
            ),
        )
        .then((controller) => {
          abort = controller;
        }, reject);
    });
  } finally {
    clearTimeout(timer);
    abort?.abort();
  }
}

/** Creates a namespace with a unique name and waits for its `default` ServiceAccount (pods need it). */
export async function createTestNamespace(
  kc: KubeConfig,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`;
  const namespace: V1Namespace = { metadata: { name, labels } };
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: namespace });
  await watchUntil(
    kc,
    `/api/v1/namespaces/${name}/serviceaccounts`,
    { fieldSelector: "metadata.name=default" },
    () => true,
    `the default ServiceAccount in ${name}`,
  );
  return name;
}

/** Identifies one object for waitUntilGone. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/**
 * Resolves once the object no longer exists. Lists it first (gone already: done),
 * then watches from the list's resourceVersion, so a deletion between the two is
 * not missed.
 */
export async function waitUntilGone(
  kc: KubeConfig,
  ref: ObjectRef,
  timeoutMs = 60_000,
): Promise<void> {
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const fieldSelector = `metadata.name=${ref.name}`;
  const list = await objects.list(
    ref.apiVersion,
    ref.kind,
    ref.namespace,
    undefined,
    undefined,
    undefined,
    fieldSelector,
  );
  if (list.items.length === 0) return;
  const resourceVersion = list.metadata?.resourceVersion ?? "";
  const group = ref.apiVersion.includes("/") ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
  const plural = `${ref.kind.toLowerCase()}${ref.kind.endsWith("s") ? "es" : "s"}`;
  const path = ref.namespace
    ? `${group}/namespaces/${ref.namespace}/${plural}`
    : `${group}/${plural}`;
  await watchUntil(
    kc,
    path,
    { fieldSelector, resourceVersion },
    (type) => type === "DELETED",
    `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name} to be deleted`,
    timeoutMs,
  );
}
