/**
 * Where a person opens the scheduler's dashboard, and saying so when a client connects
 * (like Dask's `Client` repr): a clickable link in a tslab notebook, the URL on a terminal.
 *
 * In a sandbox the launcher sets `LAUNCHBAY_DASHBOARD_URL` (the dashboard's path on the
 * notebook's own site, e.g. `/s/<id>/dashboard/`, which the browser opens with the
 * sandbox's cookie). Elsewhere it is the scheduler's own `/dashboard/` page; for a
 * scheduler on loopback (a LocalCluster, a laptop) with `?token=`, as Jupyter prints its
 * own URL, so the link opens without asking (the page moves the token into a cookie).
 */
import { tslabShowBundle } from "./progress/notebook-display.js";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function dashboardUrl(
  schedulerAddress: string,
  token: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const configured = env.LAUNCHBAY_DASHBOARD_URL?.trim();
  if (configured) return configured;
  const url = new URL(schedulerAddress.replace(/^ws/, "http"));
  url.pathname = "/dashboard/";
  if (token && LOOPBACK.has(url.hostname)) url.searchParams.set("token", token);
  return url.href;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Shows the link: in a tslab notebook as an HTML link (with a text/plain twin), on a
 * terminal (stdout is a TTY) as one line. Prints nothing elsewhere (pipes, tests, logs),
 * so the URL never lands in a log file. Returns where it went.
 */
export function announceDashboard(
  url: string,
  out: { isTTY?: boolean; write(text: string): unknown } = process.stdout,
): "notebook" | "terminal" | "none" {
  const text = `launchbay dashboard: ${url}`;
  const html = `<a href="${escapeHtml(url)}" target="_blank" rel="noopener">launchbay dashboard ↗</a> <span style="opacity:.6">(tasks, workers, memory and CPU, live)</span>`;
  if (tslabShowBundle({ "text/html": html, "text/plain": text })) return "notebook";
  if (out.isTTY) {
    out.write(`${text}\n`);
    return "terminal";
  }
  return "none";
}
