import {
  ARCHIVE_SECRET_KEYS,
  ARCHIVE_SECRET_NAME,
  archiveKey,
  MAX_PRESIGN_SECONDS,
  type S3Store,
  sweepArchives,
} from "@launchbay/archive";
import type { KubeClient } from "@launchbay/kube";
import { FIELD_MANAGER, WORKSHOP_DEFAULTS } from "../api/index.js";
import type { Sandbox } from "../api/index.js";
import { childLabels } from "../core/labels.js";
import type { Logger } from "../logger.js";
import type { ClusterCache } from "./cluster-cache.js";
import { resourcePath } from "./resources.js";

const DAY_MS = 86_400_000;
/** The PUT URL stays valid this long past the sandbox's expiry (deletion takes a moment). */
const PUT_GRACE_MS = 3_600_000;
/** How long a GET URL (restore) is valid: the notebook pod starts within this. */
const GET_VALID_MS = 6 * 3_600_000;

interface Written {
  owner: string;
  /** Until when the PUT URL written is valid. */
  putValidUntil: number;
}

/**
 * Writes each owned sandbox's `sandbox-archive` Secret: a presigned PUT URL of that owner's
 * archive object and, when one was saved within the workshop's retention, a presigned GET
 * URL of it. The sandbox's archive container (see core/workloads.ts) uses them; it never
 * holds storage credentials. Also deletes archives past their workshop's retention.
 */
export class WorkArchiver {
  private readonly written = new Map<string, Written>();

  constructor(
    private readonly deps: {
      store: S3Store;
      client: KubeClient;
      cache: ClusterCache;
      log: Logger;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** The workshop's retention in ms (the default for a workshop not (yet) known). */
  retentionMs(namespace: string, workshop: string): number {
    const entry = this.deps.cache.workshops.get(`${namespace}/${workshop}`);
    const days =
      entry?.ok === true
        ? entry.workshop.spec.archiveRetentionDays
        : WORKSHOP_DEFAULTS.archiveRetentionDays;
    return days * DAY_MS;
  }

  /**
   * Ensures the archive Secret of an owned sandbox in its namespace (once per owner, and
   * again when the expiry moved past what the PUT URL covers). No-op without an owner or
   * with a retention of 0.
   */
  async ensureSecret(sandbox: Sandbox, namespace: string): Promise<void> {
    const owner = sandbox.spec.owner;
    const home = sandbox.metadata.namespace ?? "";
    const key = `${home}/${sandbox.metadata.name}`;
    if (!owner) return;
    const retention = this.retentionMs(home, sandbox.spec.workshop);
    if (retention === 0) return;
    const now = this.now();
    const expiresAt = Date.parse(sandbox.status?.expiresAt ?? sandbox.spec.expiresAt ?? "");
    const needUntil = Math.min(
      (Number.isNaN(expiresAt) ? now + MAX_PRESIGN_SECONDS * 1000 : expiresAt) + PUT_GRACE_MS,
      now + MAX_PRESIGN_SECONDS * 1000,
    );
    const previous = this.written.get(key);
    if (previous?.owner === owner && previous.putValidUntil >= needUntil) return;

    const { store } = this.deps;
    const objectKey = archiveKey(
      store.prefix,
      { namespace: home, workshop: sandbox.spec.workshop },
      owner,
    );
    const putSeconds = Math.ceil((needUntil - now) / 1000);
    const putUrl = await store.presignPut(objectKey, putSeconds);
    const data: Record<string, string> = { [ARCHIVE_SECRET_KEYS.putUrl]: putUrl };
    // Restore only into the owner's first sandbox after the save: once this sandbox has
    // written its own archive, its (later) restart restores nothing older.
    if (!previous || previous.owner !== owner) {
      const kept = await store.head(objectKey);
      if (kept && now < kept.lastModified.getTime() + retention) {
        data[ARCHIVE_SECRET_KEYS.getUrl] = await store.presignGet(objectKey, GET_VALID_MS / 1000);
      }
    }
    const ref = { namespace: home, name: sandbox.metadata.name, workshop: sandbox.spec.workshop };
    await this.deps.client.apply(
      resourcePath("Secret", { namespace, name: ARCHIVE_SECRET_NAME }),
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: ARCHIVE_SECRET_NAME, namespace, labels: childLabels(ref) },
        type: "Opaque",
        stringData: data,
      },
      FIELD_MANAGER,
    );
    this.written.set(key, { owner, putValidUntil: needUntil });
    this.deps.log.info(
      { sandbox: key, restore: ARCHIVE_SECRET_KEYS.getUrl in data },
      "Wrote the sandbox's archive URLs",
    );
  }

  /** Forgets a deleted sandbox. */
  forget(sandboxKey: string): void {
    this.written.delete(sandboxKey);
  }

  /** Deletes archives past their workshop's retention; resolves with how many. */
  async sweep(): Promise<number> {
    const removed = await sweepArchives(
      this.deps.store,
      (namespace, workshop) => this.retentionMs(namespace, workshop),
      this.now(),
    );
    if (removed.length) {
      this.deps.log.info({ removed: removed.length }, "Deleted archives past their retention");
    }
    return removed.length;
  }
}
