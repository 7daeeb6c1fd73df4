import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Every cookie the launcher sets is named `lb_*`; none of them is the sandbox's business. */
export function stripLauncherCookies(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part.length > 0 && !part.startsWith("lb_"));
  return kept.length > 0 ? kept.join("; ") : undefined;
}

/**
 * Headers for the upstream request: the browser's, minus hop-by-hop headers, the
 * launcher's own cookies (the sandbox cookie included) and any credentials the browser
 * sent, plus the sandbox's credentials and X-Forwarded-*.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  inject: Record<string, string>,
  forwarded: { for: string | undefined; proto: string; host: string | undefined },
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name === "authorization") continue;
    if (name === "cookie") {
      const kept = stripLauncherCookies(Array.isArray(value) ? value.join("; ") : value);
      if (kept) out.cookie = kept;
      continue;
    }
    out[name] = value;
  }
  for (const [name, value] of Object.entries(inject)) out[name.toLowerCase()] = value;
  if (forwarded.for) out["x-forwarded-for"] = forwarded.for;
  out["x-forwarded-proto"] = forwarded.proto;
  if (forwarded.host) out["x-forwarded-host"] = forwarded.host;
  return out;
}

/**
 * Response headers to pass back: everything but hop-by-hop headers, with `override`
 * (the sandbox origin's CSP and the like) replacing what the upstream said.
 */
export function downstreamResponseHeaders(
  incoming: IncomingHttpHeaders,
  override: Record<string, string> = {},
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || name in override) continue;
    out[name] = value;
  }
  return { ...out, ...override };
}

/** Rewrites a redirect that points into the upstream's base path back under the public prefix. */
export function rewriteLocation(
  location: string,
  publicPrefix: string,
  upstreamBase: string,
): string {
  const base = upstreamBase.endsWith("/") ? upstreamBase : `${upstreamBase}/`;
  if (location.startsWith(base)) return publicPrefix + location.slice(base.length);
  return location;
}
