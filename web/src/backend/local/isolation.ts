import { isIP } from "node:net";
import { LauncherError } from "../../errors.js";

/**
 * How the local backend separates sandboxes:
 * - `users`: the launcher runs as root; every sandbox gets its own Unix user, home
 *   directory (0700), cgroup (memory, CPU, pids) and mount namespace view.
 * - `shared`: the launcher runs as a normal user (a laptop); every sandbox runs as that
 *   user, so sandboxes can read each other's processes and files. Loopback only.
 */
export type IsolationMode = "users" | "shared";

/** Printed at start when the sandboxes are not isolated from each other. */
export const SHARED_USER_WARNING =
  "launchbay: not running as root, so every sandbox runs as this user and sandboxes are NOT " +
  "isolated from each other or from your files: code in one notebook can read another " +
  "sandbox's tokens and files. Fine for trying launchbay on your own laptop; to host " +
  "attendees, run the launcher as root (a Unix user and cgroup per sandbox).";

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Decides the isolation mode for the local backend from who runs the launcher, and
 * refuses to serve unisolated sandboxes to other machines.
 */
export function decideIsolation(options: { uid: number | undefined; host: string }): {
  mode: IsolationMode;
  warning?: string;
} {
  if (options.uid === 0) return { mode: "users" };
  if (!isLoopbackHost(options.host)) {
    throw new LauncherError(
      "invalid-config",
      `host ${options.host} would let other machines launch sandboxes, but as a normal user ` +
        "the local backend cannot isolate sandboxes from each other (they all run as you). " +
        "Use --host 127.0.0.1 for yourself, or run the launcher as root to host attendees.",
    );
  }
  return { mode: "shared", warning: SHARED_USER_WARNING };
}
