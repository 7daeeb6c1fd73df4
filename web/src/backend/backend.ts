import type { Registry } from "prom-client";
/**
 * The contract between the launcher and the place sandboxes actually run. Two
 * implementations: `LocalBackend` (processes on this machine) and `KubernetesBackend`
 * (Sandbox custom resources reconciled by the operator). The launcher's HTTP layer,
 * queue and pages only ever talk to this interface.
 */

import type { ArchivedWork } from "./local/work-archive.js";

export type { ArchivedFile, ArchivedWork } from "./local/work-archive.js";

/** Lifecycle of a sandbox, as the operator's Sandbox status reports it. */
export const SANDBOX_PHASES = ["Pending", "Provisioning", "Ready", "Expiring", "Failed"] as const;
export type SandboxPhase = (typeof SANDBOX_PHASES)[number];

export const CONDITION_TYPES = [
  "SchedulerReady",
  "WorkersReady",
  "NotebookReady",
  "Ready",
] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface SandboxCondition {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
}

/** A sandbox as the launcher sees it. Times are epoch milliseconds. */
export interface SandboxState {
  /** Random, unguessable id (also the Sandbox object's name on Kubernetes). */
  id: string;
  /** Opaque attendee id from the identity cookie; empty for unclaimed warm-pool sandboxes. */
  owner: string;
  phase: SandboxPhase;
  conditions: SandboxCondition[];
  /** Human-readable detail from the backend ("Waiting for 2 workers", a failure reason). */
  message: string;
  createdAt: number;
  readyAt?: number;
  expiresAt: number;
  workers: { ready: number; desired: number };
  /** True for an unclaimed warm-pool sandbox. */
  warm: boolean;
  /**
   * How long the attendee waited, launch request → Ready (or the claim of a warm sandbox),
   * when the backend keeps it with the sandbox (Kubernetes: from the Sandbox object, so
   * every launcher replica reads the same).
   */
  launchMs?: number;
}

/** The latest time JavaScript can represent: the expiry of an unclaimed warm sandbox ("never"). */
export const NEVER = 8.64e15;

export type ServiceName = "notebook" | "dashboard";

/** Where the proxy sends a sandbox's traffic, and the credentials it adds on the way. */
export interface Upstream {
  /** Base URL of the service, path included (e.g. `http://127.0.0.1:41234/s/ab12/notebook/`). */
  baseUrl: URL;
  /** Headers added to every proxied request (e.g. `authorization: token ...`). */
  headers: Record<string, string>;
}

/** What happened to a sandbox; `state` is the new state, or the last one for `deleted`. */
export type SandboxEvent =
  | { type: "updated"; state: SandboxState }
  | { type: "deleted"; state: SandboxState };

export type SandboxListener = (event: SandboxEvent) => void;

export interface CreateRequest {
  id: string;
  owner: string;
  expiresAt: number;
  /** When the attendee asked (epoch ms), for the launch-time statistics. */
  requestedAt?: number;
}

export interface ClaimRequest {
  owner: string;
  expiresAt: number;
  /** When the attendee asked (epoch ms), for the launch-time statistics. */
  requestedAt?: number;
}

export interface BackendCapacity {
  /** Sandboxes that exist and have an owner (any phase but deleted). */
  owned: number;
  /** Unclaimed warm-pool sandboxes (any phase). */
  warm: number;
  /** Unclaimed warm-pool sandboxes that are Ready to hand out. */
  warmReady: number;
}

export interface Backend {
  readonly kind: "local" | "kubernetes";
  /** Loads existing sandboxes and starts watching; resolves once the first list is in. */
  start(): Promise<void>;
  /** Starts a new sandbox; resolves once the backend has accepted it (not once Ready). */
  create(request: CreateRequest): Promise<SandboxState>;
  /**
   * Hands a Ready warm-pool sandbox to `owner`; resolves to undefined when none is free.
   * Never hands the same sandbox out twice.
   */
  claim(request: ClaimRequest): Promise<SandboxState | undefined>;
  get(id: string): SandboxState | undefined;
  list(): SandboxState[];
  /** Moves the expiry; the caller has already checked the workshop's max lifetime. */
  extend(id: string, expiresAt: number): Promise<SandboxState>;
  /** Expires a sandbox now: stops everything it runs and removes it. */
  delete(id: string): Promise<void>;
  /** Registers the backend's own metrics (e.g. Kubernetes API requests) on the launcher's registry. */
  registerMetrics?(registry: Registry): void;
  /** Every change to every sandbox. Returns the unsubscribe function. */
  subscribe(listener: SandboxListener): () => void;
  /** The event stream of one sandbox. Returns the unsubscribe function. */
  watch(id: string, listener: SandboxListener): () => void;
  capacity(): BackendCapacity;
  /** Where to proxy a Ready sandbox's service; undefined when it has none (yet). */
  upstream(id: string, service: ServiceName): Upstream | undefined;
  /**
   * Notes that the attendee used the sandbox (a proxied request), for the workshop's idle
   * timeout. Cheap to call often: implementations throttle.
   */
  recordActivity(id: string): void;
  /**
   * The attendee's work archived when their last sandbox ended (expiry, Expire, failure,
   * shutdown), within the retention period; undefined when none is kept. Backends without
   * an archive leave it out.
   */
  archivedWork?(owner: string): Promise<ArchivedWork | undefined>;
  /**
   * Sets what runs before a Ready sandbox's processes are stopped by expiry, Expire or the
   * idle timeout (the launcher asks its open JupyterLab tabs to save); the backend waits
   * for it, and goes on when it fails. Backends that cannot leave it out.
   */
  setBeforeStop?(hook: (id: string) => Promise<void>): void;
  /** Stops watching; the local backend also stops every sandbox it started. */
  close(): Promise<void>;
}
