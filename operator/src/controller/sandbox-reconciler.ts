import { randomBytes } from "node:crypto";
import { findCondition } from "../api/conditions.js";
import {
  ANNOTATIONS,
  API_VERSION,
  FIELD_MANAGER,
  SANDBOX_FINALIZER,
  SANDBOX_KIND,
} from "../api/constants.js";
import { parseSandbox, type Sandbox, type SandboxStatus } from "../api/index.js";
import { secretObject, specHashOf } from "../core/desired-objects.js";
import type { CapacityLedger } from "../core/capacity-ledger.js";
import { type KubeObject, objectKey } from "../core/kube-object.js";
import { splitKey } from "../core/names.js";
import type { SandboxDefaults } from "../core/operator-config.js";
import {
  namespaceFor,
  planSandbox,
  type SandboxObservation,
  type SandboxPlan,
} from "../core/sandbox-plan.js";
import type { Logger } from "../logger.js";
import type { ClusterCache } from "./cluster-cache.js";
import type { EventRecorder } from "./events.js";
import type { IdleProbe } from "./idle-probe.js";
import {
  isConflict,
  isInvalid,
  isNotFound,
  isRefused,
  type KubeClient,
  TerminalError,
} from "@launchbay/kube";
import type { OperatorMetrics } from "./metrics.js";
import { isKind, resourcePath } from "./resources.js";
import type { WorkArchiver } from "./work-archiver.js";

export interface SandboxReconcilerDeps {
  client: KubeClient;
  cache: ClusterCache;
  ledger: CapacityLedger;
  events: EventRecorder;
  metrics: OperatorMetrics;
  defaults: SandboxDefaults;
  idle: IdleProbe;
  /** Latest notebook activity per sandbox key, filled by the idle prober. */
  activity: Map<string, number>;
  /** Writes owned sandboxes' archive URLs; unset when no object storage is configured. */
  archiver?: WorkArchiver;
  log: Logger;
  now?: () => Date;
}

/** Apply order: the namespace; its quota and limits; everything else; then workloads. */
const STAGES: ((o: KubeObject) => boolean)[] = [
  (o) => o.kind === "Namespace",
  (o) => o.kind === "ResourceQuota" || o.kind === "LimitRange",
  (o) => !["Namespace", "ResourceQuota", "LimitRange", "Deployment"].includes(o.kind),
  (o) => o.kind === "Deployment",
];

/** Observe → plan (pure) → act, for one Sandbox key. */
export class SandboxReconciler {
  /**
   * Spec hashes this process applied, per sandbox namespace, until the watch shows them:
   * under load the metadata watch lags, and without this every event in between would
   * re-apply objects that are already there. A child's delete event clears its entry, so
   * an object deleted by hand is still recreated.
   */
  private readonly applied = new Map<string, Map<string, string | undefined>>();
  /** Terminating namespaces this process touched once their last pod stopped. */
  private readonly nudged = new Set<string>();

  constructor(private readonly deps: SandboxReconcilerDeps) {
    deps.cache.childDeleted.push((namespace, key) => {
      if (key.startsWith("Namespace/")) {
        this.applied.delete(namespace);
        this.nudged.delete(namespace);
      } else this.applied.get(namespace)?.delete(key);
    });
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number } | undefined> {
    const { cache, ledger } = this.deps;
    const raw = cache.sandboxes.get(key);
    if (!raw) {
      ledger.release(key);
      this.written.delete(key);
      this.deps.activity.delete(key);
      this.deps.archiver?.forget(key);
      return undefined;
    }
    const parsed = parseSandbox(raw);
    if (!parsed.ok) {
      // The CRD schema makes this unreachable unless it was bypassed; terminal, not retried
      // (the next change to the Sandbox queues it again).
      await this.writeStatus(raw, {
        ...raw.status,
        phase: "Failed",
        message: `Invalid Sandbox: ${parsed.error}`,
      });
      throw new TerminalError(`Sandbox ${key} is invalid: ${parsed.error}`);
    }
    const sandbox = this.withOwnWrites(key, parsed.sandbox);
    const now = this.deps.now?.() ?? new Date();
    const obs = this.observe(key, sandbox, now);
    let plan = planSandbox(obs);
    if (plan.deleteSandbox?.reason === "IdleTimeout") {
      // Ask the notebook once more before deleting for idleness.
      const fresh = await this.deps.idle.lastActivity({
        name: sandbox.metadata.name,
        namespace: namespaceFor(sandbox),
      });
      if (fresh !== undefined && fresh > (obs.notebookActivityAt ?? 0)) {
        this.deps.activity.set(key, fresh);
        plan = planSandbox({ ...obs, notebookActivityAt: fresh });
      }
    }
    await this.act(key, sandbox, plan);
    return plan.requeueAfterMs === undefined ? undefined : { requeueAfterMs: plan.requeueAfterMs };
  }

  private observe(key: string, sandbox: Sandbox, now: Date): SandboxObservation {
    const { cache, ledger } = this.deps;
    const namespace = namespaceFor(sandbox);
    const workshopKey = `${sandbox.metadata.namespace}/${sandbox.spec.workshop}`;
    const entry = cache.workshops.get(workshopKey);
    const workshop: SandboxObservation["workshop"] = !entry
      ? {
          found: false,
          reason: "NotFound",
          message: `Workshop ${sandbox.spec.workshop} not found in namespace ${sandbox.metadata.namespace}; create it or fix spec.workshop`,
        }
      : entry.ok
        ? { found: true, workshop: entry.workshop }
        : {
            found: false,
            reason: "Invalid",
            message: `Workshop ${sandbox.spec.workshop} is invalid: ${entry.error}`,
          };
    const wasRejected =
      sandbox.status?.phase === "Failed" &&
      findCondition(sandbox.status.conditions, "Ready")?.reason === "OverCapacity";
    const admitted =
      !wasRejected &&
      workshop.found &&
      !sandbox.metadata.deletionTimestamp &&
      ledger.admit(workshopKey, key, workshop.workshop.spec.maxSandboxes);
    const children = cache.childrenIn(namespace);
    const record = this.applied.get(namespace);
    for (const [child, hash] of record ?? []) {
      if (children.get(child) === hash) record?.delete(child);
      else children.set(child, hash);
    }
    const obs: SandboxObservation = {
      sandbox,
      workshop,
      namespacePhase: cache.namespacePhase(namespace),
      children,
      secretExists: children.has(`Secret/${namespace}/sandbox-tokens`),
      pods: cache.podsIn(namespace),
      admitted,
      now,
      defaults: this.deps.defaults,
    };
    const activity = this.deps.activity.get(key);
    if (activity !== undefined) obs.notebookActivityAt = activity;
    return obs;
  }

  private async act(key: string, sandbox: Sandbox, plan: SandboxPlan) {
    const { client, log } = this.deps;
    const { namespace, name } = splitKey(key);
    const path = resourcePath("Sandbox", { namespace, name });
    const slog = log.child({ sandbox: key });

    if (plan.metadataPatch) {
      try {
        await client.mergePatch(path, plan.metadataPatch, FIELD_MANAGER);
        this.remember(key, sandbox, {
          metadata: plan.metadataPatch.metadata as Partial<Sandbox["metadata"]>,
        });
      } catch (error) {
        if (isNotFound(error)) return;
        throw error;
      }
    }
    for (const e of plan.events) void this.event(sandbox, e.type, e.reason, e.message);
    if (plan.deleteSandbox) {
      slog.info(
        { reason: plan.deleteSandbox.reason },
        "Deleting Sandbox: %s",
        plan.deleteSandbox.message,
      );
      await client.delete(path);
      return;
    }
    if (plan.deleteNamespace) {
      slog.info({ namespace: plan.deleteNamespace }, "Deleting Namespace");
      // The namespace controller stops its pods (each has a short termination grace period,
      // see core/workloads.ts): no pod writes, so the operator needs no pod delete rights.
      await client.delete(resourcePath("Namespace", { name: plan.deleteNamespace }));
    }
    if (plan.nudgeNamespace && !this.nudged.has(plan.nudgeNamespace)) {
      this.nudged.add(plan.nudgeNamespace);
      await this.nudgeNamespace(plan.nudgeNamespace, slog);
    }
    if (plan.removeFinalizer) {
      await this.removeFinalizer(path, sandbox);
      slog.info("Removed finalizer: namespace is gone");
      return;
    }
    try {
      for (const stage of STAGES) {
        const objects = plan.apply.filter(stage);
        await Promise.all(objects.map((o) => this.apply(o)));
        if (stage === STAGES[2] && plan.createSecretIn) {
          await this.createSecret(sandbox, plan.createSecretIn);
        }
        if (stage === STAGES[2] && plan.archiveSecretIn) {
          await this.writeArchiveSecret(key, sandbox, plan.archiveSecretIn);
        }
      }
    } catch (error) {
      // The API server refused an object: say so on the Sandbox (not a silent Provisioning).
      // An invalid object (422) stays invalid until the Sandbox or Workshop changes (which
      // queues the key again): terminal. Other refusals (403 until RBAC is fixed, a
      // namespace still terminating) retry with backoff.
      if (isRefused(error)) {
        await this.writeStatus(sandbox, {
          ...(plan.status ?? sandbox.status),
          phase: "Provisioning",
          message: `Could not create the sandbox's objects: ${(error as Error).message}`,
        });
      }
      if (isInvalid(error)) {
        throw new TerminalError(
          `the API server refused an object of Sandbox ${key}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      throw error;
    }
    if (plan.apply.length) slog.debug({ applied: plan.apply.length }, "Applied children");
    if (plan.status) {
      await this.writeStatus(sandbox, plan.status);
      this.remember(key, sandbox, { status: plan.status });
      if (plan.status.readyAt && !sandbox.status?.readyAt) {
        const start = Date.parse(
          plan.status.claimedAt ?? sandbox.metadata.creationTimestamp ?? plan.status.readyAt,
        );
        this.deps.metrics.timeToReady.observe(
          Math.max(0, (Date.parse(plan.status.readyAt) - start) / 1000),
        );
        slog.info("Sandbox is Ready");
      }
    }
  }

  /**
   * Our own writes, keyed by the resourceVersion they were based on. While the cache still
   * shows that version (the watch lags under load), reconcile plans from the cache plus
   * these writes instead of repeating them (and, e.g., stamping readyAt twice).
   */
  private readonly written = new Map<
    string,
    { basedOn: string | undefined; metadata?: Partial<Sandbox["metadata"]>; status?: SandboxStatus }
  >();

  private remember(
    key: string,
    read: Sandbox,
    change: { metadata?: Partial<Sandbox["metadata"]>; status?: SandboxStatus },
  ) {
    const previous = this.written.get(key);
    const basedOn = read.metadata.resourceVersion;
    const memo = previous?.basedOn === basedOn ? previous : { basedOn };
    this.written.set(key, { ...memo, ...change, basedOn });
  }

  private withOwnWrites(key: string, sandbox: Sandbox): Sandbox {
    const memo = this.written.get(key);
    if (!memo) return sandbox;
    if (memo.basedOn !== sandbox.metadata.resourceVersion) {
      this.written.delete(key);
      return sandbox;
    }
    const metadata = memo.metadata
      ? {
          ...sandbox.metadata,
          ...memo.metadata,
          labels: { ...sandbox.metadata.labels, ...memo.metadata.labels },
        }
      : sandbox.metadata;
    return { ...sandbox, metadata, status: memo.status ?? sandbox.status };
  }

  private async apply(object: KubeObject) {
    if (!isKind(object.kind)) throw new Error(`no REST mapping for kind ${object.kind}`);
    const path = resourcePath(object.kind, {
      namespace: object.metadata.namespace,
      name: object.metadata.name,
    });
    await this.deps.client.apply(path, object, FIELD_MANAGER);
    const namespace = object.metadata.namespace ?? object.metadata.name;
    this.recordApplied(namespace, objectKey(object), specHashOf(object));
  }

  private recordApplied(namespace: string, key: string, hash: string | undefined) {
    let record = this.applied.get(namespace);
    if (!record) {
      record = new Map();
      this.applied.set(namespace, record);
    }
    record.set(key, hash);
  }

  private async createSecret(sandbox: Sandbox, namespace: string) {
    const ref = {
      namespace: sandbox.metadata.namespace ?? "",
      name: sandbox.metadata.name,
      workshop: sandbox.spec.workshop,
    };
    const secret = secretObject(ref, namespace, {
      runtimeToken: randomBytes(32).toString("base64url"),
      notebookToken: randomBytes(32).toString("base64url"),
    });
    try {
      await this.deps.client.create(resourcePath("Secret", { namespace }), secret);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    // Secrets are not watched (the operator may not list them): remember it until the
    // namespace goes, so the next passes do not create it again. After a restart the first
    // pass creates it once more and gets 409.
    this.recordApplied(namespace, objectKey(secret), "created");
  }

  /**
   * The owner's archive URLs, before the notebook pod starts (it restores from them). Object
   * storage being down must not hold the sandbox back: warn, and try again next pass.
   */
  private async writeArchiveSecret(key: string, sandbox: Sandbox, namespace: string) {
    try {
      await this.deps.archiver?.ensureSecret(sandbox, namespace);
    } catch (error) {
      if (isRefused(error)) throw error;
      this.deps.log.warn(
        { sandbox: key, err: (error as Error).message },
        "Could not write the sandbox's archive URLs; its work will not be kept until this succeeds",
      );
      void this.event(
        sandbox,
        "Warning",
        "ArchiveUnavailable",
        `Could not prepare the work archive: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Annotates a terminating namespace whose pods have all stopped. Any update makes the
   * namespace controller look at it again (after its 5 s settling delay); otherwise it
   * waits out half the longest pod grace period it saw on its first pass, which with the
   * archive container's grace made expiry → namespace gone ~30 s longer. Best effort:
   * without it the controller's own recheck still removes the namespace.
   */
  private async nudgeNamespace(namespace: string, slog: Logger) {
    try {
      await this.deps.client.mergePatch(
        resourcePath("Namespace", { name: namespace }),
        { metadata: { annotations: { [ANNOTATIONS.podsStoppedAt]: new Date().toISOString() } } },
        FIELD_MANAGER,
      );
      slog.debug({ namespace }, "Pods stopped: asked the namespace controller to finish");
    } catch (error) {
      if (isNotFound(error)) return;
      slog.warn(
        { namespace, err: error },
        "Could not annotate the terminating namespace (its removal waits for the namespace controller's own recheck)",
      );
    }
  }

  private async removeFinalizer(path: string, sandbox: Sandbox) {
    const finalizers = sandbox.metadata.finalizers ?? [];
    const index = finalizers.indexOf(SANDBOX_FINALIZER);
    if (index < 0) return;
    try {
      await this.deps.client.jsonPatch(path, [
        { op: "test", path: `/metadata/finalizers/${index}`, value: SANDBOX_FINALIZER },
        { op: "remove", path: `/metadata/finalizers/${index}` },
      ]);
    } catch (error) {
      // 404: already gone. 422: the list changed under us; the next pass retries.
      if (isNotFound(error)) return;
      throw error;
    }
  }

  private async writeStatus(sandbox: Sandbox, status: SandboxStatus) {
    const previous = (sandbox.status ?? {}) as Record<string, unknown>;
    const patch: Record<string, unknown> = { ...status };
    for (const k of Object.keys(previous))
      if (!(k in patch) || patch[k] === undefined) patch[k] = null;
    try {
      await this.deps.client.mergePatch(
        resourcePath("Sandbox", {
          namespace: sandbox.metadata.namespace,
          name: sandbox.metadata.name,
          subresource: "status",
        }),
        { status: patch },
        FIELD_MANAGER,
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private event(sandbox: Sandbox, type: "Normal" | "Warning", reason: string, message: string) {
    return this.deps.events.record(
      {
        apiVersion: API_VERSION,
        kind: SANDBOX_KIND,
        namespace: sandbox.metadata.namespace ?? "",
        name: sandbox.metadata.name,
        uid: sandbox.metadata.uid,
      },
      type,
      reason,
      message,
    );
  }
}
