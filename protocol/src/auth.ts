/** Token checks shared by every launchbay endpoint (scheduler and worker data ports). */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** A fresh random token (URL-safe, 256 bits). */
export function generateToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The token a request presents: `Authorization: Bearer <t>`, else `?token=<t>`, else a `launchbay-token` cookie. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header?.startsWith("Bearer ")) return header.slice(7).trim();
  const url = new URL(req.url ?? "/", "http://x");
  const query = url.searchParams.get("token");
  if (query) return query;
  const cookie = req.headers.cookie
    ?.split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith("launchbay-token="));
  return cookie ? decodeURIComponent(cookie.slice("launchbay-token=".length)) : undefined;
}

/** Constant-time comparison. With no token configured, everything is allowed (loopback only: see `assertSafeBind`). */
export function tokenMatches(expected: string | undefined, presented: string | undefined): boolean {
  if (expected === undefined || expected === "") return true;
  if (presented === undefined) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(presented).digest();
  return timingSafeEqual(a, b);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host);
}

/** Refuses to listen beyond loopback without a token. Returns an error message, or undefined when safe. */
export function unsafeBindReason(host: string, token: string | undefined): string | undefined {
  if (isLoopback(host) || (token !== undefined && token !== "")) return undefined;
  return (
    `refusing to listen on ${host} without a token: anyone who can reach it could run code. ` +
    "Pass --token (or set LAUNCHBAY_TOKEN), or listen on 127.0.0.1."
  );
}
