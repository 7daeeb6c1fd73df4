import { SANDBOX_FINALIZER } from "../api/constants.js";
import { parseWorkshop, type Sandbox, type Workshop } from "../api/index.js";
import { specHashOf } from "../core/desired-objects.js";
import { MANAGED_SELECTOR } from "../core/labels.js";
import { namespaceFor } from "../core/sandbox-plan.js";
import { type ObservedPod, observePod } from "../core/observed-pod.js";
import type { Logger } from "../logger.js";
import { Informer, type InformerEvent, type KubeClient } from "@launchbay/kube";
import { CHILD_KINDS, type Kind, resourcePath } from "./resources.js";

type WorkshopEntry =
  | { ok: true; workshop: Workshop }
  | { ok: false; error: string; name: string; namespace: string };

interface ChildMeta {
  kind: Kind;
  namespace: string;
  name: string;
  hash: string | undefined;
}

interface RawMeta {
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
}

/**
 * Everything the operator watches, trimmed, with indexes from a sandbox namespace to the
 * children and pods in it. Children and namespaces are watched metadata-only.
 */
export class ClusterCache {
  readonly workshops: Informer<WorkshopEntry>;
  readonly sandboxes: Informer<Sandbox>;
  readonly namespaces: Informer<{ name: string; deleting: boolean; hash: string | undefined }>;
  readonly pods: Informer<ObservedPod>;
  readonly children: Informer<ChildMeta>[];
  private readonly childIndex = new Map<string, Map<string, string | undefined>>();
  private readonly podIndex = new Map<string, Map<string, ObservedPod>>();
  private readonly namespaceOwner = new Map<string, string>();
  private readonly sandboxesByWorkshop = new Map<string, Set<string>>();

  /** Called with (namespace, objectKey) when a child (or a Namespace) is deleted. */
  readonly childDeleted: ((namespace: string, objectKey: string) => void)[] = [];

  /** Called with the sandbox key affected by a change to one of its children or pods. */
  onSandboxChild: ((sandboxKey: string) => void) | undefined;

  constructor(client: KubeClient, log: Logger, watchNamespace?: string) {
    const nsPath = (kind: Kind) =>
      resourcePath(kind, watchNamespace ? { namespace: watchNamespace } : {});
    this.workshops = new Informer(client, {
      name: "workshops",
      path: nsPath("Workshop"),
      log,
      transform: (raw) => {
        const parsed = parseWorkshop(withoutManagedFields(raw));
        if (parsed.ok) return { ok: true, workshop: parsed.workshop };
        const meta = (raw as RawMeta).metadata ?? {};
        return {
          ok: false,
          error: parsed.error,
          name: meta.name ?? "",
          namespace: meta.namespace ?? "",
        };
      },
    });
    this.sandboxes = new Informer(client, {
      name: "sandboxes",
      path: nsPath("Sandbox"),
      log,
      transform: (raw) => withoutManagedFields(raw) as Sandbox,
    });
    this.namespaces = new Informer(client, {
      name: "namespaces",
      path: resourcePath("Namespace"),
      labelSelector: MANAGED_SELECTOR,
      metadataOnly: true,
      log,
      transform: (raw) => {
        const m = (raw as RawMeta).metadata ?? {};
        return {
          name: m.name ?? "",
          deleting: Boolean(m.deletionTimestamp),
          hash: specHashOf({ metadata: { annotations: m.annotations ?? {} } }),
        };
      },
    });
    this.pods = new Informer(client, {
      name: "pods",
      path: resourcePath("Pod"),
      labelSelector: MANAGED_SELECTOR,
      log,
      transform: (raw) => observePod(raw as Parameters<typeof observePod>[0]),
    });
    this.children = CHILD_KINDS.map(
      (kind) =>
        new Informer<ChildMeta>(client, {
          name: kind,
          path: resourcePath(kind),
          labelSelector: MANAGED_SELECTOR,
          metadataOnly: true,
          log,
          transform: (raw) => {
            const m = (raw as RawMeta).metadata ?? {};
            return {
              kind,
              namespace: m.namespace ?? "",
              name: m.name ?? "",
              hash: specHashOf({ metadata: { annotations: m.annotations ?? {} } }),
            };
          },
        }),
    );

    this.sandboxes.on((e) => this.indexSandbox(e));
    this.pods.on((e) => {
      const index = this.indexFor(this.podIndex, e.object.namespace);
      if (e.type === "delete") index.delete(e.object.name);
      else index.set(e.object.name, e.object);
      this.notify(e.object.namespace);
    });
    for (const informer of this.children) {
      informer.on((e) => {
        const index = this.indexFor(this.childIndex, e.object.namespace);
        const key = `${e.object.kind}/${e.object.namespace}/${e.object.name}`;
        if (e.type === "delete") {
          index.delete(key);
          for (const l of this.childDeleted) l(e.object.namespace, key);
        } else index.set(key, e.object.hash);
        this.notify(e.object.namespace);
      });
    }
    this.namespaces.on((e) => {
      if (e.type === "delete") {
        this.childIndex.delete(e.object.name);
        this.podIndex.delete(e.object.name);
        for (const l of this.childDeleted) l(e.object.name, `Namespace/${e.object.name}`);
      }
      this.notify(e.object.name);
    });
  }

  private get all(): Informer<unknown>[] {
    return [
      this.workshops,
      this.sandboxes,
      this.namespaces,
      this.pods,
      ...this.children,
    ] as Informer<unknown>[];
  }

  async start(): Promise<void> {
    await Promise.all(this.all.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((i) => i.stop()));
  }

  get synced(): boolean {
    return this.all.every((i) => i.hasSynced);
  }

  get informerRestarts(): number {
    return this.all.reduce((sum, i) => sum + i.restarts, 0);
  }

  /** Children (objectKey → spec hash) in a sandbox namespace, the Namespace included. */
  childrenIn(namespace: string): Map<string, string | undefined> {
    const children = new Map(this.childIndex.get(namespace) ?? []);
    const ns = this.namespaces.get(namespace);
    if (ns) children.set(`Namespace/${namespace}`, ns.hash);
    return children;
  }

  podsIn(namespace: string): ObservedPod[] {
    return [...(this.podIndex.get(namespace)?.values() ?? [])];
  }

  namespacePhase(namespace: string): "Absent" | "Active" | "Terminating" {
    const ns = this.namespaces.get(namespace);
    if (!ns) return "Absent";
    return ns.deleting ? "Terminating" : "Active";
  }

  sandboxKeysOfWorkshop(workshopKey: string): string[] {
    return [...(this.sandboxesByWorkshop.get(workshopKey) ?? [])];
  }

  sandboxesOfWorkshop(workshopKey: string): Sandbox[] {
    return this.sandboxKeysOfWorkshop(workshopKey)
      .map((k) => this.sandboxes.get(k))
      .filter((s): s is Sandbox => s !== undefined);
  }

  /** Whether any Sandbox still carries our finalizer (used by tests and shutdown logs). */
  pendingFinalizers(): number {
    let n = 0;
    for (const s of this.sandboxes.values())
      if (s.metadata.finalizers?.includes(SANDBOX_FINALIZER)) n++;
    return n;
  }

  private notify(namespace: string) {
    const owner = this.namespaceOwner.get(namespace);
    if (owner) this.onSandboxChild?.(owner);
  }

  private indexSandbox(e: InformerEvent<Sandbox>) {
    const s = e.object;
    const ns = namespaceFor(s);
    const workshopKey = `${s.metadata.namespace}/${s.spec?.workshop}`;
    if (e.type === "delete") {
      this.namespaceOwner.delete(ns);
      this.sandboxesByWorkshop.get(workshopKey)?.delete(e.key);
      return;
    }
    if (e.type === "update") {
      const oldNs = namespaceFor(e.previous);
      if (oldNs !== ns) this.namespaceOwner.delete(oldNs);
    }
    this.namespaceOwner.set(ns, e.key);
    let set = this.sandboxesByWorkshop.get(workshopKey);
    if (!set) {
      set = new Set();
      this.sandboxesByWorkshop.set(workshopKey, set);
    }
    set.add(e.key);
  }

  private indexFor<V>(index: Map<string, Map<string, V>>, namespace: string): Map<string, V> {
    let m = index.get(namespace);
    if (!m) {
      m = new Map();
      index.set(namespace, m);
    }
    return m;
  }
}

/** managedFields are often larger than the rest of an object; the cache never needs them. */
function withoutManagedFields(raw: unknown): unknown {
  const object = raw as { metadata?: Record<string, unknown> };
  if (object.metadata && "managedFields" in object.metadata) {
    const { managedFields: _dropped, ...metadata } = object.metadata;
    return { ...object, metadata };
  }
  return raw;
}
