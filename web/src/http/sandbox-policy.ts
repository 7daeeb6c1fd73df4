import type { ServiceName } from "../backend/backend.js";
import { confinePath } from "../proxy/confine-path.js";

/**
 * What a sandbox origin serves, and under which headers. The notebook keeps Jupyter's base
 * path (`/s/<id>/notebook/`); the dashboard forwards only the three GET endpoints the
 * scheduler's dashboard page uses (no /api, no /metrics, no WebSocket).
 */
export const DASHBOARD_PATHS = new Set(["", "data.json", "events"]);
const DASHBOARD_METHODS = new Set(["GET", "HEAD"]);

export function publicPrefix(id: string, service: ServiceName): string {
  return `/s/${id}/${service}/`;
}

/**
 * The notebook's CSP on its own origin: scripts only from the notebook server itself (no
 * inline script, so an HTML output's `<script>` never runs even if Jupyter trusted it), no
 * framing by anyone but itself, nothing sent elsewhere. JupyterLab needs 'unsafe-eval'
 * (without it a notebook never opens: tried in real Chromium); eval still only runs code
 * that same-origin scripts hand it.
 */
export const NOTEBOOK_CSP = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-src 'self' blob:",
  "frame-ancestors 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "object-src 'none'",
].join("; ");

/** The dashboard page is one static page with inline script; it needs nothing else. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

export function sandboxResponseHeaders(service: ServiceName): Record<string, string> {
  return {
    "content-security-policy": service === "notebook" ? NOTEBOOK_CSP : DASHBOARD_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  };
}

/**
 * The upstream path for a request to `service` of sandbox `id` (relative to the upstream's
 * base path), or why it is refused: paths are confined below the prefix, and the dashboard
 * allows only its own GET endpoints (query strings dropped: the dashboard takes none, and
 * its `?token=` must not be usable through the proxy).
 */
export function sandboxPath(
  id: string,
  service: ServiceName,
  method: string,
  url: string,
  upgrade: boolean,
): { ok: true; rest: string } | { ok: false; reason: string; status: 400 | 404 } {
  const confined = confinePath(url, publicPrefix(id, service));
  if (!confined.ok) return { ...confined, status: 400 };
  if (service === "notebook") return { ok: true, rest: confined.rest + confined.query };
  if (upgrade) return { ok: false, reason: "the dashboard takes no WebSocket", status: 404 };
  if (!DASHBOARD_PATHS.has(confined.rest))
    return { ok: false, reason: "the dashboard has no such page", status: 404 };
  if (!DASHBOARD_METHODS.has(method))
    return { ok: false, reason: "the dashboard only answers GET", status: 404 };
  return { ok: true, rest: confined.rest };
}
