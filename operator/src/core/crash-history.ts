import type { SandboxCrash } from "../api/sandbox.js";
import type { ObservedPod } from "./observed-pod.js";
import type { CrashLimit } from "./operator-config.js";

/**
 * The sandbox's crashes within the window: the ones recorded before plus every
 * container termination its pods now show that is not recorded yet (a pod keeps only
 * each container's last termination, so the history lives in the Sandbox's status).
 * Oldest first; at most `maxCrashes` kept (more never changes the verdict).
 */
export function crashHistory(
  recorded: readonly SandboxCrash[] | undefined,
  pods: readonly ObservedPod[],
  now: Date,
  limit: CrashLimit,
): SandboxCrash[] {
  const since = now.getTime() - limit.windowMs;
  const key = (c: SandboxCrash) => `${c.pod}/${c.container}@${Date.parse(c.at)}`;
  const byKey = new Map<string, SandboxCrash>();
  for (const crash of recorded ?? []) byKey.set(key(crash), crash);
  for (const pod of pods) {
    for (const t of pod.terminations) {
      // A container that ended cleanly (exit 0, e.g. after a restart request) is no crash.
      if (t.exitCode === 0 && t.reason === "Completed") continue;
      const crash: SandboxCrash = {
        pod: pod.name,
        component: pod.component ?? "",
        container: t.container,
        at: t.finishedAt,
        reason: t.reason,
        exitCode: t.exitCode,
      };
      if (!byKey.has(key(crash))) byKey.set(key(crash), crash);
    }
  }
  return [...byKey.values()]
    .filter((c) => Date.parse(c.at) > since)
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    .slice(-limit.maxCrashes);
}

/** The plain-words reason a sandbox gave up, from its crashes (at the limit). */
export function crashMessage(crashes: readonly SandboxCrash[], limit: CrashLimit): string {
  const last = crashes[crashes.length - 1]!;
  const component = last.component ? last.component : `pod ${last.pod}`;
  const how =
    last.reason === "OOMKilled"
      ? "it ran out of memory (OOMKilled)"
      : `last exit code ${last.exitCode}${last.reason && last.reason !== "Error" ? ` (${last.reason})` : ""}`;
  return (
    `The ${component} crashed ${crashes.length} times within ${Math.round(limit.windowMs / 60_000)} minutes; ` +
    `${how}. Your notebook and its files are kept: download your work, then start a new sandbox.`
  );
}
