import { isGone, KubeApiError, KubeError } from "./errors.js";
import type { KubeClient } from "./kube-client.js";

interface Listed<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

export interface WatchUntilOptions {
  /** Only the object of this name (a `metadata.name` field selector). */
  name?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Rejects after this long with the last state seen. Default 60 s. */
  timeoutMs?: number;
  /** What is awaited, for the timeout message ("sandbox alice to be Ready"). */
  what?: string;
}

const keyOf = (o: unknown) => {
  const m = (o as { metadata?: { namespace?: string; name?: string } }).metadata ?? {};
  return `${m.namespace ?? ""}/${m.name ?? ""}`;
};

/**
 * Waits on the API server, never by polling: lists the collection at `path` (filtered by
 * the options), then watches from the list's resourceVersion, calling `until` with the
 * current objects after the list and after every change. Resolves with those objects once
 * `until` holds (already at the list: at once); relists when the watch expires (410);
 * rejects after timeoutMs naming what it waited for and what it saw last.
 *
 *   await watchUntil(client, sandboxes, { name: "alice" }, ([s]) => isReady(s));
 *   await watchUntil(client, "/api/v1/namespaces", { name: ns }, (items) => items.length === 0);
 */
export async function watchUntil<T>(
  client: KubeClient,
  path: string,
  options: WatchUntilOptions,
  until: (items: T[]) => boolean,
): Promise<T[]> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fieldSelector = [options.name && `metadata.name=${options.name}`, options.fieldSelector]
    .filter(Boolean)
    .join(",");
  const query = { labelSelector: options.labelSelector, fieldSelector: fieldSelector || undefined };
  const abort = new AbortController();
  const deadline = setTimeout(() => abort.abort(), timeoutMs);
  const items = new Map<string, T>();
  let matched = false;
  const check = () => {
    if (!matched && until([...items.values()])) {
      matched = true;
      abort.abort();
    }
  };
  try {
    while (!abort.signal.aborted) {
      let list: Listed<T>;
      try {
        list = await client.get<Listed<T>>(path, { query, signal: abort.signal });
      } catch (error) {
        if (abort.signal.aborted) break;
        throw error;
      }
      items.clear();
      for (const o of list.items) items.set(keyOf(o), o);
      check();
      let resourceVersion = list.metadata.resourceVersion;
      try {
        while (!abort.signal.aborted) {
          await client.watch(
            path,
            { ...query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 60 },
            undefined,
            (event) => {
              const object = event.object as T & { metadata?: { resourceVersion?: string } };
              if (event.type === "ERROR") {
                const status = object as { code?: number; message?: string };
                throw new KubeApiError(status.code ?? 500, "WATCH", path, "", status.message ?? "");
              }
              resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
              if (event.type === "BOOKMARK") return;
              if (event.type === "DELETED") items.delete(keyOf(object));
              else items.set(keyOf(object), object);
              check();
            },
            abort.signal,
          );
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        // The watch threw inside onEvent: the stream was destroyed with that error.
        if (!isGone(error)) throw error;
      }
    }
  } finally {
    clearTimeout(deadline);
  }
  if (matched) return [...items.values()];
  const seen = JSON.stringify([...items.values()]).slice(0, 3000);
  throw new KubeError(
    "kube-timeout",
    `timed out after ${timeoutMs} ms waiting for ${options.what ?? `${path} ${JSON.stringify(query)}`}; last seen: ${seen}`,
  );
}
