import { KubeConfig } from "@kubernetes/client-node";
import { customResourceDefinitions, KubeClient } from "@launchbay/operator";

/** A KubeClient for the admin kubeconfig of the test control plane. */
export async function connect(kubeconfig: string): Promise<KubeClient> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return KubeClient.create(kc, { maxInflight: 64 });
}

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/** Applies the generated CRDs and waits until the API server serves them. */
export async function installCrds(client: KubeClient): Promise<void> {
  for (const crd of customResourceDefinitions()) {
    await client.apply(`${CRD_PATH}/${crd.metadata.name}`, crd, "launchbay-tests");
    await waitFor(
      client,
      CRD_PATH,
      crd.metadata.name,
      (o: { status?: { conditions?: { type: string; status: string }[] } } | undefined) =>
        o?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ??
        false,
      30_000,
    );
  }
}

export async function createNamespace(
  client: KubeClient,
  name: string,
  labels: Record<string, string> = {},
) {
  await client.create("/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels },
  });
}

/**
 * Resolves with the object once predicate(object) holds, watching the collection at
 * listPath (filtered to one name) so it wakes on the change itself; rejects after
 * timeoutMs with the last state seen. predicate receives undefined while it is absent.
 */
export async function waitFor<T>(
  client: KubeClient,
  listPath: string,
  name: string,
  predicate: (object: T | undefined) => boolean,
  timeoutMs: number,
): Promise<T | undefined> {
  const abort = new AbortController();
  let last: T | undefined;
  const deadline = setTimeout(() => abort.abort(), timeoutMs);
  try {
    for (;;) {
      const list = await client.get<{ metadata: { resourceVersion: string }; items: T[] }>(
        listPath,
        {
          query: { fieldSelector: `metadata.name=${name}` },
        },
      );
      last = list.items[0];
      if (predicate(last)) return last;
      let matched = false;
      try {
        await client.watch(
          listPath,
          {
            fieldSelector: `metadata.name=${name}`,
            resourceVersion: list.metadata.resourceVersion,
            timeoutSeconds: 60,
          },
          undefined,
          (event) => {
            last = event.type === "DELETED" ? undefined : (event.object as T);
            if (predicate(last)) {
              matched = true;
              abort.abort();
            }
          },
          abort.signal,
        );
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      }
      if (matched) return last;
      if (abort.signal.aborted) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting on ${listPath}/${name}; last seen: ${JSON.stringify(last)?.slice(0, 3000)}`,
        );
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}

/**
 * Resolves once count(list) holds for the collection at listPath (with labelSelector),
 * re-checking on every watch event.
 */
export async function waitForList<T>(
  client: KubeClient,
  listPath: string,
  labelSelector: string | undefined,
  predicate: (items: T[]) => boolean,
  timeoutMs: number,
): Promise<T[]> {
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), timeoutMs);
  const items = new Map<string, T>();
  const keyOf = (o: unknown) => {
    const m = (o as { metadata: { namespace?: string; name: string } }).metadata;
    return `${m.namespace ?? ""}/${m.name}`;
  };
  try {
    for (;;) {
      const list = await client.get<{ metadata: { resourceVersion: string }; items: T[] }>(
        listPath,
        {
          query: { labelSelector },
        },
      );
      items.clear();
      for (const o of list.items) items.set(keyOf(o), o);
      if (predicate([...items.values()])) return [...items.values()];
      let matched = false;
      try {
        await client.watch(
          listPath,
          { labelSelector, resourceVersion: list.metadata.resourceVersion, timeoutSeconds: 60 },
          undefined,
          (event) => {
            if (event.type === "BOOKMARK") return;
            if (event.type === "DELETED") items.delete(keyOf(event.object));
            else items.set(keyOf(event.object), event.object as T);
            if (predicate([...items.values()])) {
              matched = true;
              abort.abort();
            }
          },
          abort.signal,
        );
      } catch (error) {
        if (!abort.signal.aborted) throw error;
      }
      if (matched) return [...items.values()];
      if (abort.signal.aborted) {
        const summary = [...items.values()].map((o) => {
          const v = o as {
            metadata: { name: string };
            status?: { phase?: string; message?: string };
          };
          return `${v.metadata.name}: ${v.status?.phase ?? "-"} ${v.status?.message ?? ""}`;
        });
        throw new Error(
          `timed out after ${timeoutMs} ms waiting on ${listPath} (${labelSelector}); ${items.size} items: ${summary.join(" | ")}`,
        );
      }
    }
  } finally {
    clearTimeout(deadline);
  }
}
