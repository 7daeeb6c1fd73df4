import type {
  Backend,
  BackendCapacity,
  ClaimRequest,
  CreateRequest,
  SandboxListener,
  SandboxState,
  ServiceName,
  Upstream,
} from "../backend/backend.js";
import { SandboxStore } from "../backend/sandbox-store.js";

/**
 * A backend driven by the test: sandboxes move only when the test says so. For testing
 * the HTTP layer and the launch service without processes or a cluster.
 */
export class ScriptedBackend implements Backend {
  readonly kind = "local" as const;
  readonly store = new SandboxStore();
  readonly created: CreateRequest[] = [];
  readonly deleted: string[] = [];
  private readonly upstreams = new Map<string, Upstream>();
  private failCreate: Error | undefined;
  /** When set, create() waits for this promise (to hold launches "in flight"). */
  createGate: Promise<void> | undefined;
  started = false;
  closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  async start(): Promise<void> {
    this.started = true;
  }

  failNextCreate(error: Error): void {
    this.failCreate = error;
  }

  async create(request: CreateRequest): Promise<SandboxState> {
    this.created.push(request);
    if (this.createGate) await this.createGate;
    if (this.failCreate) {
      const err = this.failCreate;
      this.failCreate = undefined;
      throw err;
    }
    const state: SandboxState = {
      id: request.id,
      owner: request.owner,
      phase: "Pending",
      conditions: [],
      message: "",
      createdAt: this.now(),
      expiresAt: request.expiresAt,
      workers: { ready: 0, desired: 3 },
      warm: request.owner === "",
    };
    this.store.put(state);
    return state;
  }

  async claim(request: ClaimRequest): Promise<SandboxState | undefined> {
    const warm = this.store.list().find((s) => s.warm && s.phase === "Ready");
    if (!warm) return undefined;
    const claimed = { ...warm, owner: request.owner, expiresAt: request.expiresAt, warm: false };
    this.store.put(claimed);
    return claimed;
  }

  /** Moves a sandbox along (the test plays the operator). */
  update(id: string, patch: Partial<SandboxState>): SandboxState {
    const current = this.store.get(id);
    if (!current) throw new Error(`no sandbox ${id}`);
    const next = { ...current, ...patch };
    this.store.put(next);
    return next;
  }

  /** Marks a sandbox Ready with all conditions true. */
  ready(id: string, readyAt = this.now()): SandboxState {
    return this.update(id, {
      phase: "Ready",
      readyAt,
      workers: { ready: 3, desired: 3 },
      conditions: (["SchedulerReady", "WorkersReady", "NotebookReady", "Ready"] as const).map(
        (type) => ({
          type,
          status: "True" as const,
        }),
      ),
    });
  }

  setUpstream(id: string, service: ServiceName, upstream: Upstream): void {
    this.upstreams.set(`${id}/${service}`, upstream);
  }

  get(id: string): SandboxState | undefined {
    return this.store.get(id);
  }

  list(): SandboxState[] {
    return this.store.list();
  }

  async extend(id: string, expiresAt: number): Promise<SandboxState> {
    return this.update(id, { expiresAt });
  }

  async delete(id: string): Promise<void> {
    this.deleted.push(id);
    this.store.remove(id);
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
    if (this.store.get(id)?.phase !== "Ready") return undefined;
    return this.upstreams.get(`${id}/${service}`);
  }

  readonly activity: string[] = [];

  recordActivity(id: string): void {
    this.activity.push(id);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
