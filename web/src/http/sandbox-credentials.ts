import { createHmac, randomBytes } from "node:crypto";
import { safeEqual } from "./identity.js";
import { MemoryNonceLedger, type NonceLedger } from "./organiser-sessions.js";

/** The cookie that opens one sandbox's origin (set there by the handover, host-only). */
export const SANDBOX_COOKIE = "lb_sandbox";
/** Where a sandbox origin redeems a handover token. */
export const HANDOVER_PATH = "/_launchbay/handover";
/** How long a handover token is good for: it only has to survive one redirect. */
export const HANDOVER_TTL_MS = 60_000;
/** How long a sandbox cookie lasts (the sandbox usually ends first). */
export const SANDBOX_COOKIE_TTL_MS = 12 * 3600_000;

export type HandoverTarget = "notebook" | "dashboard";

interface HandoverClaims {
  k: "handover";
  s: string; // sandbox id
  o: string; // the sandbox's owner (attendee id) when minted
  t: HandoverTarget;
  e: number; // expiry, epoch ms
  n: string; // nonce: each token is redeemed once
}

interface CookieClaims {
  k: "sandbox";
  s: string;
  o: string;
  e: number;
}

type Claims = HandoverClaims | CookieClaims;

/**
 * Sandbox-scoped credentials, separate from the launcher's: a one-time handover token
 * (minted on the launcher origin, redeemed on the sandbox origin) and the cookie it becomes.
 * Both name one sandbox and its owner, so they open that sandbox and nothing else; an
 * organiser who opens an attendee's sandbox gets exactly the attendee's rights there.
 * Signed with a key derived from the cookie secret for this purpose only, so no launcher
 * cookie can pass for one of these or the other way round.
 */
export class SandboxCredentials {
  private readonly key: Buffer;

  /** `redeemed` remembers the nonces used (shared between replicas on Kubernetes). */
  constructor(
    cookieSecret: string,
    private readonly now: () => number,
    private readonly redeemed: NonceLedger = new MemoryNonceLedger(),
  ) {
    this.key = createHmac("sha256", cookieSecret)
      .update("launchbay sandbox credential v1")
      .digest();
  }

  private sign(claims: Claims): string {
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const mac = createHmac("sha256", this.key).update(body).digest("base64url");
    return `${body}.${mac}`;
  }

  private open(value: string | undefined): Claims | undefined {
    if (!value || value.length > 2048) return undefined;
    const dot = value.indexOf(".");
    if (dot <= 0) return undefined;
    const body = value.slice(0, dot);
    const mac = createHmac("sha256", this.key).update(body).digest("base64url");
    if (!safeEqual(mac, value.slice(dot + 1))) return undefined;
    try {
      return JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Claims;
    } catch {
      return undefined;
    }
  }

  mintHandover(id: string, owner: string, target: HandoverTarget): string {
    return this.sign({
      k: "handover",
      s: id,
      o: owner,
      t: target,
      e: this.now() + HANDOVER_TTL_MS,
      n: randomBytes(16).toString("base64url"),
    });
  }

  /**
   * Redeems a handover token on the origin of sandbox `id`: the token must be for this
   * sandbox, unexpired, for its current owner, and never used before.
   */
  async redeemHandover(
    token: string | undefined,
    id: string,
    currentOwner: string | undefined,
  ): Promise<{ ok: true; owner: string; target: HandoverTarget } | { ok: false; reason: string }> {
    const claims = this.open(token);
    const now = this.now();
    if (claims?.k !== "handover") return { ok: false, reason: "not a handover token" };
    if (claims.s !== id) return { ok: false, reason: "the token is for another sandbox" };
    if (claims.e <= now) return { ok: false, reason: "the token has expired" };
    if (currentOwner === undefined || claims.o !== currentOwner)
      return { ok: false, reason: "the sandbox is gone or has another owner" };
    if (!(await this.redeemed.claim(claims.n, claims.e, now)))
      return { ok: false, reason: "the token was already used" };
    return { ok: true, owner: claims.o, target: claims.t };
  }

  sandboxCookie(id: string, owner: string): string {
    return this.sign({ k: "sandbox", s: id, o: owner, e: this.now() + SANDBOX_COOKIE_TTL_MS });
  }

  /** Whether a sandbox cookie opens sandbox `id`, owned now by `currentOwner`. */
  cookieOpens(value: string | undefined, id: string, currentOwner: string | undefined): boolean {
    const claims = this.open(value);
    return (
      claims?.k === "sandbox" &&
      claims.s === id &&
      currentOwner !== undefined &&
      currentOwner !== "" &&
      claims.o === currentOwner &&
      claims.e > this.now()
    );
  }
}
