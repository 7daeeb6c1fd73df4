import { randomBytes } from "node:crypto";

/**
 * Where organiser sessions live. The in-memory store below is per process (the local
 * launcher); the Kubernetes backend keeps them in the API (lease-records.ts), so every
 * launcher replica sees a sign-in and a sign-out at once.
 */
export interface OrganiserSessionStore {
  /** Starts a session and returns its id (random, 256 bits). */
  create(now: number): Promise<string>;
  /** Whether the id names a live session. */
  isValid(id: string, now: number): Promise<boolean>;
  /** Ends the session (sign-out); unknown ids are ignored. */
  revoke(id: string): Promise<void>;
}

/** A new organiser session id: 256 random bits. */
export function newSessionId(): string {
  return randomBytes(32).toString("base64url");
}

export class MemoryOrganiserSessions implements OrganiserSessionStore {
  private readonly sessions = new Map<string, number>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxSessions = 1000,
  ) {}

  async create(now: number): Promise<string> {
    if (this.sessions.size >= this.maxSessions) this.prune(now);
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = newSessionId();
    this.sessions.set(id, now + this.ttlMs);
    return id;
  }

  async isValid(id: string, now: number): Promise<boolean> {
    const expiresAt = this.sessions.get(id);
    if (expiresAt === undefined) return false;
    if (expiresAt <= now) {
      this.sessions.delete(id);
      return false;
    }
    return true;
  }

  async revoke(id: string): Promise<void> {
    this.sessions.delete(id);
  }

  private prune(now: number): void {
    for (const [id, expiresAt] of this.sessions) if (expiresAt <= now) this.sessions.delete(id);
  }
}

/**
 * Single-use tokens: `claim` answers true the first time a nonce is claimed (until its
 * expiry) and false ever after. In memory per process (local launcher); in the API with
 * the Kubernetes backend (a create that only one replica can win).
 */
export interface NonceLedger {
  claim(nonce: string, expiresAt: number, now: number): Promise<boolean>;
}

export class MemoryNonceLedger implements NonceLedger {
  private readonly claimed = new Map<string, number>();

  async claim(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    for (const [n, expiry] of this.claimed) if (expiry <= now) this.claimed.delete(n);
    if (this.claimed.has(nonce)) return false;
    this.claimed.set(nonce, expiresAt);
    return true;
  }
}
