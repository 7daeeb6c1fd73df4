import type { IncomingHttpHeaders } from "node:http";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * CSRF defence beside SameSite cookies: a state-changing request that carries an
 * Origin (every browser sends one on POST/DELETE and on WebSocket handshakes) must come
 * from this launcher's own origin or an allowed one; a browser that says the request is
 * cross-site (Sec-Fetch-Site) is refused even without an Origin.
 * Returns the reason for refusing, or undefined when the request is fine.
 */
export function originProblem(
  method: string,
  headers: IncomingHttpHeaders,
  ownOrigins: readonly string[],
  options: { upgrade?: boolean } = {},
): string | undefined {
  if (SAFE_METHODS.has(method) && !options.upgrade) return undefined;
  const origin = headers.origin;
  if (typeof origin === "string" && origin !== "") {
    if (origin === "null") return "requests from opaque origins are not allowed";
    if (!ownOrigins.includes(origin.toLowerCase())) {
      return `origin ${origin} may not change anything here`;
    }
    return undefined;
  }
  const site = headers["sec-fetch-site"];
  if (site === "cross-site") return "cross-site requests may not change anything here";
  return undefined;
}

/** The origins a request may legitimately come from: the launcher's own plus configured ones. */
export function ownOriginsFor(
  host: string | undefined,
  protocol: string,
  allowed: readonly string[],
): string[] {
  const origins = allowed.map((o) => o.toLowerCase().replace(/\/$/, ""));
  if (host) origins.push(`${protocol}://${host}`.toLowerCase());
  return origins;
}
