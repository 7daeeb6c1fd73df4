import { warmPoolDeficit } from "@launchbay/operator/api";
import type { FastifyBaseLogger } from "fastify";
import { type Backend, NEVER } from "../backend/backend.js";
import { newSandboxId } from "../core/ids.js";

/**
 * Keeps `size` unclaimed sandboxes starting or Ready, so attendees can be handed one at
 * once. For the local backend only: on Kubernetes the operator keeps the Workshop's warm
 * pool. Never grows the total past `maxSandboxes`.
 */
export class WarmPoolKeeper {
  private creating = 0;
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly backend: Backend,
    private readonly size: number,
    private readonly maxSandboxes: number,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(): void {
    if (this.size === 0) return;
    this.unsubscribe = this.backend.subscribe(() => this.topUp());
    this.topUp();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  /** How many warm sandboxes to add now: the operator's policy on the backend's view. */
  missing(): number {
    return warmPoolDeficit({
      warmPool: this.size,
      maxSandboxes: this.maxSandboxes,
      members: this.backend
        .list()
        .map((s) => ({ unclaimed: s.warm, ending: s.phase === "Expiring" })),
      starting: this.creating,
    });
  }

  private topUp(): void {
    if (this.stopped) return;
    const n = this.missing();
    for (let i = 0; i < n; i += 1) {
      this.creating += 1;
      this.backend
        .create({ id: newSandboxId(), owner: "", expiresAt: NEVER })
        .then(
          (state) => this.log.info({ sandbox: state.id }, "Started warm sandbox"),
          (err: unknown) => this.log.error({ err }, "Starting a warm sandbox failed"),
        )
        .finally(() => {
          this.creating -= 1;
        });
    }
  }
}
