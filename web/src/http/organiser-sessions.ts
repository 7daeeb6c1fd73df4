import { randomBytes } from "node:crypto";

/**
 * Where organiser sessions live. The in-memory store below is per process: with several
 * launcher replicas, a session exists only on the replica that signed the organiser in
 * (see web/README.md#abuse-limits); a shared store implements the same three methods.
 */
export interface OrganiserSessionStore {
  /** Starts a session and returns its id (random, 256 bits). */
  create(now: number): string;
  /** Whether the id names a live session. */
  isValid(id: string, now: number): boolean;
  /** Ends the session (sign-out); unknown ids are ignored. */
  revoke(id: string): void;
}

export class MemoryOrganiserSessions implements OrganiserSessionStore {
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxSessions = 1000,
  ) {}

  create(now: number): string {
    if (this.sessions.size >= this.maxSessions) this.prune(now);
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = randomBytes(32).toString("base64url");
    this.sessions.set(id, now + this.ttlMs);
    return id;
  }

  isValid(id: string, now: number): boolean {
    const expiresAt = this.sessions.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt <= now) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  revoke(id: string): void {
    this.sessions.delete(id);
  }

  private prune(now: number): void {
    for (const [id, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(id);
  }
}
