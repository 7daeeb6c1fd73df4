import {
  activityPatch,
  claimPatch,
  extendPatch,
  GROUP,
  isClaimable,
  LABELS,
  newSandbox,
  parseSandbox,
  SANDBOX_PLURAL,
  type Sandbox,
  SECRET_KEYS,
  SECRET_NAME,
  VERSION,
} from "@launchbay/operator/api";
import type { FastifyBaseLogger } from "fastify";
import { LauncherError } from "../../errors.js";
import type {
  ArchivedWork,
  Backend,
  BackendCapacity,
  ClaimRequest,
  CreateRequest,
  SandboxListener,
  SandboxState,
  ServiceName,
  Upstream,
} from "../backend.js";
import { SandboxStore } from "../sandbox-store.js";
import {
  Informer,
  isConflict,
  isNotFound,
  type KubeClient,
  KubeRequestMetrics,
} from "@launchbay/kube";
import type { Registry } from "prom-client";
import { LAUNCH_ANNOTATIONS, sandboxStateOf } from "./sandbox-mapping.js";
import type { S3WorkArchive } from "./s3-work-archive.js";

export interface KubernetesBackendOptions {
  client: KubeClient;
  namespace: string;
  workshop: string;
  /** Workers per sandbox (from the Workshop), for progress before the operator reports. */
  workers: number;
  log: FastifyBaseLogger;
  /** Attendees' work the operator's sandboxes archived to object storage; unset: none. */
  archive?: S3WorkArchive;
  /**
   * How long before a sandbox's expiry its open JupyterLab tabs are asked to save (the
   * save bridge; see setBeforeStop). Default 15 s.
   */
  saveBeforeExpiryMs?: number;
}

/** The longest delay setTimeout takes (about 24.8 days); sandboxes live hours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Tokens {
  runtime: string;
  notebook: string;
}

/**
 * Sandboxes as `Sandbox` custom resources: creates them, claims warm ones, patches expiry,
 * deletes them, and mirrors them through a list+watch. The operator does everything else.
 */
export class KubernetesBackend implements Backend {
  readonly kind = "kubernetes" as const;
  private readonly store = new SandboxStore();
  private readonly objects = new Map<string, Sandbox>();
  private readonly reserved = new Set<string>();
  private readonly tokens = new Map<string, Tokens>();
  private readonly loadingTokens = new Set<string>();
  /** When activity was last written per sandbox (epoch ms), to write at most once a minute. */
  private readonly activityWritten = new Map<string, number>();
  private readonly abort = new AbortController();
  private readonly collection: string;
  /** Asks a sandbox's open JupyterLab tabs to save (the save bridge), bounded by itself. */
  private beforeStop: ((id: string) => Promise<void>) | undefined;
  /** Per sandbox: the time its tabs are asked to save before expiry, and the timer. */
  private readonly saveTimers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  /** The workshop's Sandboxes, listed then watched (undefined: an object that does not parse). */
  private readonly informer: Informer<Sandbox | undefined>;

  constructor(private readonly options: KubernetesBackendOptions) {
    this.collection = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(options.namespace)}/${SANDBOX_PLURAL}`;
    this.informer = new Informer(options.client, {
      name: "sandboxes",
      path: this.collection,
      labelSelector: `${LABELS.workshop}=${options.workshop}`,
      transform: (raw) => this.decode(raw),
      log: options.log,
    });
    this.informer.on((event) => {
      if (event.type === "delete") this.forget(event.key.slice(event.key.indexOf("/") + 1));
      else if (event.object) this.upsert(event.object);
    });
  }

  /** Counts this backend's Kubernetes API requests on the launcher's registry. */
  registerMetrics(registry: Registry): void {
    this.options.client.observers.push(new KubeRequestMetrics(registry, "launchbay_").observe);
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  private decode(value: unknown): Sandbox | undefined {
    const parsed = parseSandbox(value);
    if (!parsed.ok) {
      this.options.log.warn(
        { error: parsed.error },
        "Ignoring a Sandbox that does not match the schema",
      );
      return undefined;
    }
    return parsed.sandbox;
  }

  private upsert(sandbox: Sandbox): SandboxState {
    const previous = this.objects.get(sandbox.metadata.name);
    // Never move backwards: a create/patch response may arrive after a newer watch event.
    if (
      previous &&
      Number(previous.metadata.resourceVersion) > Number(sandbox.metadata.resourceVersion)
    ) {
      return this.store.get(sandbox.metadata.name)!;
    }
    this.objects.set(sandbox.metadata.name, sandbox);
    let state = sandboxStateOf(sandbox, this.options.workers);
    if (state.phase === "Ready" && !this.tokens.has(state.id)) {
      // Not Ready for the attendee until the proxy holds the sandbox's credentials:
      // otherwise the first notebook request after the redirect would fail.
      state = { ...state, phase: "Provisioning", message: "Connecting to your notebook" };
      void this.loadTokens(state.id, sandbox);
    }
    this.store.put(state);
    this.scheduleSave(state);
    return state;
  }

  setBeforeStop(hook: (id: string) => Promise<void>): void {
    this.beforeStop = hook;
    for (const state of this.store.list()) this.scheduleSave(state);
  }

  /**
   * The operator deletes a sandbox at its expiry on its own: shortly before, this launcher
   * asks the sandbox's JupyterLab tabs connected to it to save (every replica asks its own
   * tabs, since each watches every sandbox). Re-planned when the expiry moves; asked once
   * per expiry time.
   */
  private scheduleSave(state: SandboxState): void {
    if (!this.beforeStop) return;
    const lead = this.options.saveBeforeExpiryMs ?? 15_000;
    const at =
      state.expiresAt !== undefined && state.owner && state.phase !== "Expiring"
        ? state.expiresAt - lead
        : undefined;
    if (this.saveTimers.get(state.id)?.at === at) return;
    this.cancelSave(state.id);
    if (at === undefined || at - Date.now() > MAX_TIMER_MS) return;
    const timer = setTimeout(
      () => void this.saveOpenDocuments(state.id),
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.saveTimers.set(state.id, { at, timer });
  }

  private cancelSave(id: string): void {
    clearTimeout(this.saveTimers.get(id)?.timer);
    this.saveTimers.delete(id);
  }

  private async saveOpenDocuments(id: string): Promise<void> {
    if (!this.beforeStop || this.store.get(id)?.phase !== "Ready") return;
    try {
      await this.beforeStop(id);
    } catch (err) {
      this.options.log.warn({ sandbox: id, err }, "Saving open documents before the stop failed");
    }
  }

  /** Recomputes a sandbox's state from the last object seen (after its tokens arrived). */
  private refresh(id: string): void {
    const sandbox = this.objects.get(id);
    if (sandbox) this.upsert(sandbox);
  }

  private forget(id: string): void {
    this.cancelSave(id);
    this.objects.delete(id);
    this.tokens.delete(id);
    this.reserved.delete(id);
    this.activityWritten.delete(id);
    this.store.remove(id);
  }

  async create(request: CreateRequest): Promise<SandboxState> {
    const body = newSandbox({
      name: request.id,
      namespace: this.options.namespace,
      workshop: this.options.workshop,
      owner: request.owner || undefined,
      expiresAt: request.owner ? new Date(request.expiresAt) : undefined,
    });
    if (request.owner && request.requestedAt !== undefined) {
      body.metadata.annotations = { [LAUNCH_ANNOTATIONS.requestedAt]: String(request.requestedAt) };
    }
    let created: unknown;
    try {
      created = await this.options.client.create(this.collection, body);
    } catch (err) {
      throw new LauncherError(
        "backend-failed",
        `the cluster refused to create the sandbox: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const sandbox = this.decode(created);
    if (!sandbox)
      throw new LauncherError(
        "backend-failed",
        "the cluster returned a Sandbox the launcher cannot read",
      );
    return this.upsert(sandbox);
  }

  async claim(request: ClaimRequest): Promise<SandboxState | undefined> {
    const candidates = [...this.objects.values()]
      .filter(
        (s) =>
          isClaimable(s) && this.tokens.has(s.metadata.name) && !this.reserved.has(s.metadata.name),
      )
      .sort((a, b) =>
        (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? ""),
      );
    for (const candidate of candidates) {
      const name = candidate.metadata.name;
      this.reserved.add(name);
      try {
        const patch = claimPatch(candidate, request.owner, new Date(request.expiresAt));
        const claimMs =
          request.requestedAt === undefined
            ? undefined
            : Math.max(0, Date.now() - request.requestedAt);
        const patched = await this.options.client.mergePatch(
          `${this.collection}/${encodeURIComponent(name)}`,
          claimMs === undefined
            ? patch
            : {
                ...patch,
                metadata: {
                  ...patch.metadata,
                  annotations: { [LAUNCH_ANNOTATIONS.claimMs]: String(claimMs) },
                },
              },
        );
        const sandbox = this.decode(patched);
        if (!sandbox) continue;
        return this.upsert(sandbox);
      } catch (err) {
        if (isConflict(err) || isNotFound(err)) continue;
        this.reserved.delete(name);
        throw new LauncherError(
          "backend-failed",
          `claiming a warm sandbox failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    return undefined;
  }

  get(id: string): SandboxState | undefined {
    return this.store.get(id);
  }

  list(): SandboxState[] {
    return this.store.list();
  }

  async extend(id: string, expiresAt: number): Promise<SandboxState> {
    try {
      const patched = await this.options.client.mergePatch(
        `${this.collection}/${encodeURIComponent(id)}`,
        extendPatch(new Date(expiresAt)),
      );
      const sandbox = this.decode(patched);
      if (!sandbox) throw new Error("unreadable Sandbox in the answer");
      const state = this.upsert(sandbox);
      // The operator caps expiry at maxLifetime and writes status.expiresAt; until then the
      // requested time is the best answer.
      return { ...state, expiresAt };
    } catch (err) {
      if (isNotFound(err)) throw new LauncherError("not-found", `no sandbox ${id}`);
      throw new LauncherError(
        "backend-failed",
        `extending the sandbox failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  async delete(id: string): Promise<void> {
    // While it is still Ready, its open JupyterLab tabs save every document first (the
    // hook bounds its own wait); the archive container then saves what is on disk.
    await this.saveOpenDocuments(id);
    try {
      await this.options.client.request("DELETE", `${this.collection}/${encodeURIComponent(id)}`);
    } catch (err) {
      if (isNotFound(err)) {
        this.forget(id);
        return;
      }
      throw new LauncherError(
        "backend-failed",
        `expiring the sandbox failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const current = this.store.get(id);
    if (current && current.phase !== "Expiring") {
      this.store.put({ ...current, phase: "Expiring", message: "Expiring: removing the sandbox" });
    }
  }

  subscribe(listener: SandboxListener): () => void {
    return this.store.subscribe(listener);
  }

  watch(id: string, listener: SandboxListener): () => void {
    return this.store.watch(id, listener);
  }

  capacity(): BackendCapacity {
    return this.store.capacity();
  }

  upstream(id: string, service: ServiceName): Upstream | undefined {
    const sandbox = this.objects.get(id);
    const state = this.store.get(id);
    // A sandbox that has been Ready (status.readyAt) keeps serving while the operator
    // reports it Provisioning again, e.g. while a killed worker pod is replaced, and
    // after it gave up on a crashing component (Failed, RepeatedCrashes): the notebook
    // pod is still there, the attendee's JupyterLab keeps saving, and Download works.
    const serving =
      state?.phase === "Ready" ||
      ((state?.phase === "Provisioning" || state?.phase === "Failed") &&
        Boolean(sandbox?.status?.readyAt));
    if (!sandbox || !serving) return undefined;
    const url =
      service === "notebook"
        ? sandbox.status?.endpoints?.notebook
        : sandbox.status?.endpoints?.dashboard;
    const tokens = this.tokens.get(id);
    if (!url || !tokens) return undefined;
    return {
      baseUrl: new URL(url.endsWith("/") ? url : `${url}/`),
      headers: {
        authorization:
          service === "notebook" ? `token ${tokens.notebook}` : `Bearer ${tokens.runtime}`,
      },
    };
  }

  /** Reads the sandbox's tokens from its Secret (needed before the proxy can forward). */
  async loadTokens(id: string, sandbox = this.objects.get(id), attempt = 1): Promise<void> {
    const namespace = sandbox?.status?.namespace;
    if (!namespace || this.tokens.has(id) || this.loadingTokens.has(id)) return;
    this.loadingTokens.add(id);
    try {
      const secret = await this.options.client.get<{ data?: Record<string, string> }>(
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${SECRET_NAME}`,
      );
      const decode = (key: string) =>
        Buffer.from(secret.data?.[key] ?? "", "base64").toString("utf8");
      this.tokens.set(id, {
        runtime: decode(SECRET_KEYS.runtimeToken),
        notebook: decode(SECRET_KEYS.notebookToken),
      });
      this.loadingTokens.delete(id);
      this.refresh(id);
    } catch (err) {
      this.loadingTokens.delete(id);
      this.options.log.warn({ sandbox: id, err, attempt }, "Reading the sandbox's tokens failed");
      if (attempt < 8 && !this.abort.signal.aborted) {
        const retry = setTimeout(
          () => void this.loadTokens(id, this.objects.get(id), attempt + 1),
          250 * 2 ** attempt,
        );
        retry.unref();
      }
    }
  }

  /** The attendee's work archived to object storage when their sandbox ended, if kept. */
  async archivedWork(owner: string): Promise<ArchivedWork | undefined> {
    return this.options.archive?.find(owner);
  }

  recordActivity(id: string): void {
    const now = Date.now();
    if (now - (this.activityWritten.get(id) ?? 0) < 60_000 || !this.objects.has(id)) return;
    this.activityWritten.set(id, now);
    this.options.client
      .mergePatch(`${this.collection}/${encodeURIComponent(id)}`, activityPatch(new Date(now)))
      .then((patched) => {
        const sandbox = this.decode(patched);
        if (sandbox) this.upsert(sandbox);
      })
      .catch((err: unknown) =>
        this.options.log.warn({ sandbox: id, err }, "Recording activity failed"),
      );
  }

  async close(): Promise<void> {
    for (const id of [...this.saveTimers.keys()]) this.cancelSave(id);
    this.abort.abort();
    await this.informer.stop();
    this.options.client.close();
  }
}
