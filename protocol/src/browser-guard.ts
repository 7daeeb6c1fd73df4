/**
 * Keeps web pages away from runtime endpoints (scheduler and worker data ports).
 *
 * - A WebSocket upgrade carrying an `Origin` header comes from a browser: it is refused
 *   (HTTP 403) unless that exact origin was configured (`--allowed-origin`), which needs a
 *   token. Launchbay's own dialers (clients, workers) are Node processes and send none.
 * - Without a token (loopback only) every request must name a loopback host in `Host`: a
 *   page on a DNS-rebound name (`rebind.attacker.example` resolving to 127.0.0.1) is
 *   same-origin with the port as far as the browser knows, and is refused here.
 * Ray's unauthenticated job API (CVE-2023-48022) and Dask's CVE-2021-42343 are this class.
 */
import type { IncomingMessage } from "node:http";

export interface BrowserGuard {
  /** Set when the endpoint requires a token; without one, no browser origin is ever allowed. */
  token: string | undefined;
  /** Browser origins (`scheme://host[:port]`) allowed to open WebSockets. */
  allowedOrigins: readonly string[];
}

/**
 * Parses an origin as configured (`https://sandbox.example.com`, `http://localhost:8888`).
 * Returns the normalised origin, or an error message saying what is expected.
 */
export function parseOrigin(
  value: string,
): { ok: true; origin: string } | { ok: false; error: string } {
  const expected =
    'expected an origin such as "https://sandbox.example.com" (scheme://host[:port], no path)';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { ok: false, error: expected };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return { ok: false, error: `${expected}: the scheme must be http or https` };
  if (
    url.username ||
    url.password ||
    url.search ||
    url.hash ||
    !/^[a-z]+:\/\/[^/]+\/?$/i.test(value)
  )
    return { ok: false, error: expected };
  return { ok: true, origin: url.origin };
}

/** Why a configuration of allowed origins is unsafe, or undefined. */
export function unsafeOriginsReason(
  token: string | undefined,
  allowedOrigins: readonly string[],
): string | undefined {
  if (allowedOrigins.length === 0 || (token !== undefined && token !== "")) return undefined;
  return (
    `refusing to allow browser origins (${allowedOrigins.join(", ")}) without a token: any page served from ` +
    "them could run code on this machine. Pass --token (or set LAUNCHBAY_TOKEN), or drop --allowed-origin."
  );
}

const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

/** Whether a `Host` header names this machine's loopback interface (any port). */
export function isLoopbackHostHeader(host: string): boolean {
  return LOOPBACK_HOST.test(host);
}

export interface Refusal {
  status: 403;
  body: string;
}

/**
 * The `Host` check of a tokenless endpoint (every request, HTTP or upgrade). A request
 * without `Host` (HTTP/1.0, not a browser) passes.
 */
export function refuseHost(req: IncomingMessage, guard: BrowserGuard): Refusal | undefined {
  if (guard.token !== undefined && guard.token !== "") return undefined;
  const host = req.headers.host;
  if (host === undefined || isLoopbackHostHeader(host)) return undefined;
  return {
    status: 403,
    body:
      `refused: Host ${JSON.stringify(host)} is not a loopback name. Without a token this endpoint answers only ` +
      "requests addressed to localhost, 127.0.0.1 or [::1] (a page on another name could be DNS rebinding). " +
      "Use http://127.0.0.1:PORT, or start it with --token to serve other names.\n",
  };
}

/** The `Origin` check of a WebSocket upgrade. */
export function refuseOrigin(req: IncomingMessage, guard: BrowserGuard): Refusal | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  const tokened = guard.token !== undefined && guard.token !== "";
  if (tokened && guard.allowedOrigins.includes(origin)) return undefined;
  return {
    status: 403,
    body: tokened
      ? `refused: WebSocket from browser origin ${JSON.stringify(origin)}, which is not allowed here. ` +
        "Allowed origins are set with --allowed-origin (LAUNCHBAY_ALLOWED_ORIGINS); " +
        "launchbay clients and workers send no Origin header.\n"
      : `refused: WebSocket from browser origin ${JSON.stringify(origin)}. Without a token this endpoint ` +
        "accepts no browser connections at all (any web page could run code here); " +
        "launchbay clients and workers send no Origin header.\n",
  };
}

/** Writes a refusal on a raw socket (before any upgrade). */
export function refusalResponse(refusal: Refusal): string {
  return (
    "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n" +
    `Content-Length: ${Buffer.byteLength(refusal.body)}\r\n\r\n${refusal.body}`
  );
}
