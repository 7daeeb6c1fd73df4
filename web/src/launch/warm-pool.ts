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

  /** How many warm sandboxes to add now (pure arithmetic on the backend's view). */
  missing(): number {
    const live = this.backend.list().filter((s) => s.phase !== "Expiring");
    // A failed warm sandbox keeps its slot until the organiser expires it, so a runtime
    // that cannot start is not retried in a loop.
    const warm = live.filter((s) => s.warm).length + this.creating;
    const room = this.maxSandboxes - live.length - this.creating;
    return Math.max(0, Math.min(this.size - warm, room));
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
