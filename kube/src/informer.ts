import { isGone, KubeApiError } from "./errors.js";
import type { KubeClient } from "./kube-client.js";
import type { KubeLogger } from "./logger.js";

const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const METADATA_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

interface RawObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface InformerOptions<T> {
  /** List/watch path, e.g. `/api/v1/pods`. */
  path: string;
  labelSelector?: string;
  /** Fetch only metadata (PartialObjectMetadata) to keep memory and RBAC exposure low. */
  metadataOnly?: boolean;
  /** Trims an object to what the operator keeps. */
  transform: (raw: unknown) => T;
  name: string;
  log: KubeLogger;
  /** Page size of the initial list. */
  pageSize?: number;
}

export type InformerEvent<T> =
  | { type: "add"; key: string; object: T }
  | { type: "update"; key: string; object: T; previous: T }
  | { type: "delete"; key: string; object: T };

/**
 * List, then watch from the list's resourceVersion, keeping a transformed cache. A watch
 * that ends is resumed from the last resourceVersion; 410 Gone or any error relists
 * after a backoff (1 s doubling to 30 s), emitting the difference as events.
 */
export class Informer<T> {
  private readonly cache = new Map<string, T>();
  private readonly listeners: ((event: InformerEvent<T>) => void)[] = [];
  private readonly abort = new AbortController();
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private loop: Promise<void> | undefined;
  private resourceVersion = "";
  /** Times the list+watch loop restarted after an error. */
  restarts = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly options: InformerOptions<T>,
  ) {}

  on(listener: (event: InformerEvent<T>) => void): void {
    this.listeners.push(listener);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  values(): IterableIterator<T> {
    return this.cache.values();
  }

  keys(): IterableIterator<string> {
    return this.cache.keys();
  }

  get size(): number {
    return this.cache.size;
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  /** Starts the loop; resolves once the first list is in the cache. */
  start(): Promise<void> {
    this.loop ??= this.run();
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run() {
    let backoff = 1000;
    while (!this.abort.signal.aborted) {
      try {
        await this.list();
        backoff = 1000;
        for (;;) {
          await this.watchOnce();
          if (this.abort.signal.aborted) return;
        }
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.restarts += 1;
        const gone = isGone(error);
        this.options.log.warn(
          {
            informer: this.options.name,
            err: (error as Error).message,
            retryInMs: gone ? 0 : backoff,
          },
          gone ? "Watch expired; relisting" : "List/watch failed; restarting",
        );
        if (!gone) {
          await delay(backoff, this.abort.signal);
          backoff = Math.min(backoff * 2, 30_000);
        }
      }
    }
  }

  private keyOf(raw: RawObject): string {
    const m = raw.metadata ?? {};
    return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? "");
  }

  private async list() {
    const seen = new Set<string>();
    let continueToken: string | undefined;
    let resourceVersion = "";
    do {
      const page = await this.client.get<{
        metadata: { resourceVersion: string; continue?: string };
        items: RawObject[];
      }>(this.options.path, {
        query: {
          labelSelector: this.options.labelSelector,
          limit: this.options.pageSize ?? 500,
          continue: continueToken,
        },
        accept: this.options.metadataOnly ? METADATA_LIST : undefined,
        signal: this.abort.signal,
      });
      for (const raw of page.items ?? []) {
        const key = this.keyOf(raw);
        seen.add(key);
        this.upsert(key, raw);
      }
      continueToken = page.metadata.continue || undefined;
      resourceVersion = page.metadata.resourceVersion;
    } while (continueToken);
    for (const key of [...this.cache.keys()]) {
      if (!seen.has(key)) this.remove(key);
    }
    this.resourceVersion = resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters) w();
      this.syncWaiters = [];
    }
  }

  private async watchOnce() {
    await this.client.watch(
      this.options.path,
      {
        labelSelector: this.options.labelSelector,
        resourceVersion: this.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 240 + Math.floor(Math.random() * 60),
      },
      this.options.metadataOnly ? METADATA_WATCH : undefined,
      (event) => {
        const raw = event.object as RawObject & { code?: number; message?: string };
        if (event.type === "ERROR") {
          throw new KubeApiError(
            raw.code ?? 500,
            "WATCH",
            this.options.path,
            "",
            raw.message ?? "watch error",
          );
        }
        const rv = raw.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (event.type === "BOOKMARK") return;
        const key = this.keyOf(raw);
        if (event.type === "DELETED") this.remove(key);
        else this.upsert(key, raw);
      },
      this.abort.signal,
    );
  }

  private upsert(key: string, raw: unknown) {
    const object = this.options.transform(raw);
    const previous = this.cache.get(key);
    this.cache.set(key, object);
    this.emit(
      previous === undefined
        ? { type: "add", key, object }
        : { type: "update", key, object, previous },
    );
  }

  private remove(key: string) {
    const object = this.cache.get(key);
    if (object === undefined) return;
    this.cache.delete(key);
    this.emit({ type: "delete", key, object });
  }

  private emit(event: InformerEvent<T>) {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (error) {
        this.options.log.error(
          { informer: this.options.name, err: error },
          "Informer listener threw",
        );
      }
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
