import { stableStringify } from "../core/stable-json.js";
import { FIELD_MANAGER } from "../api/constants.js";
import { warmPoolDeficit, warmSandbox, workshopStatus } from "../core/workshop-plan.js";
import { splitKey } from "../core/names.js";
import type { Logger } from "../logger.js";
import type { ClusterCache } from "./cluster-cache.js";
import { isNotFound, type KubeClient } from "@launchbay/kube";
import { resourcePath } from "./resources.js";

/** Keeps a workshop's warm pool filled and its status counts current. */
export class WorkshopReconciler {
  /** Warm sandboxes created but not yet seen in the cache (per workshop). */
  private readonly expected = new Map<string, Set<string>>();

  constructor(
    private readonly deps: {
      client: KubeClient;
      cache: ClusterCache;
      log: Logger;
      now?: () => Date;
    },
  ) {
    deps.cache.sandboxes.on((e) => {
      if (e.type !== "add") return;
      const w = `${e.object.metadata.namespace}/${e.object.spec?.workshop}`;
      this.expected.get(w)?.delete(e.key);
    });
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    const { cache, client, log } = this.deps;
    const entry = cache.workshops.get(key);
    if (!entry) {
      this.expected.delete(key);
      return undefined;
    }
    if (!entry.ok) {
      log.warn({ workshop: key, error: entry.error }, "Workshop is invalid");
      return undefined;
    }
    const workshop = entry.workshop;
    const sandboxes = cache.sandboxesOfWorkshop(key);
    const pending = this.expected.get(key) ?? new Set<string>();
    this.expected.set(key, pending);
    const deficit = workshop.metadata.deletionTimestamp
      ? 0
      : warmPoolDeficit({
          warmPool: workshop.spec.warmPool,
          maxSandboxes:
            workshop.spec.maxSandboxes === undefined
              ? undefined
              : workshop.spec.maxSandboxes - pending.size,
          sandboxes,
        }) - pending.size;
    if (deficit > 0) {
      const { namespace } = splitKey(key);
      const created = await Promise.all(
        Array.from({ length: deficit }, () =>
          client.create<{ metadata: { name: string } }>(
            resourcePath("Sandbox", { namespace }),
            warmSandbox(workshop),
          ),
        ),
      );
      for (const c of created) {
        const sandboxKey = `${namespace}/${c.metadata.name}`;
        if (!cache.sandboxes.get(sandboxKey)) pending.add(sandboxKey);
      }
      log.info({ workshop: key, created: deficit }, "Created warm-pool Sandboxes");
    }
    const status = workshopStatus(workshop, sandboxes, this.deps.now?.() ?? new Date());
    const comparable = (s: unknown) => stableStringify(s, (k) => k !== "lastTransitionTime");
    if (comparable(status) !== comparable(workshop.status ?? {})) {
      try {
        await client.mergePatch(
          resourcePath("Workshop", { ...splitKey(key), subresource: "status" }),
          { status },
          FIELD_MANAGER,
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return undefined;
  }
}
