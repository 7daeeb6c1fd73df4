import type { SandboxView } from "../core/describe.js";

import { NEVER } from "../backend/backend.js";

/** ISO time, or null when unknown or "never" (an unclaimed warm sandbox). */
const iso = (ms: number | undefined) =>
  ms === undefined || ms >= NEVER ? null : new Date(ms).toISOString();

/**
 * The JSON shape of a sandbox in the API: the view plus its URLs (set once Ready). The
 * notebook and dashboard URLs are launcher paths that hand the browser over to the
 * sandbox's own origin (`<id>.<sandboxDomain>`) with a one-time token.
 */
export function sandboxResponse(view: SandboxView) {
  const base = `/s/${view.id}/`;
  return {
    ...view,
    requestedAt: new Date(view.requestedAt).toISOString(),
    readyAt: iso(view.readyAt),
    expiresAt: iso(view.expiresAt),
    sandboxUrl: view.ready ? base : null,
    notebookUrl: view.ready ? `${base}open/notebook` : null,
    dashboardUrl: view.ready ? `${base}open/dashboard` : null,
  };
}
