/** What the warm-pool policy needs to know of one of a workshop's sandboxes. */
export interface PoolMember {
  /** Nobody has claimed it (a warm sandbox, ready, starting or failed). */
  unclaimed: boolean;
  /** On its way out (deleting, expiring): it holds no slot any more. */
  ending: boolean;
}

/**
 * How many warm sandboxes to start now so that `warmPool` unclaimed ones exist or are
 * coming, never growing the workshop past `maxSandboxes`. The one policy of both backends
 * (the operator's Workshop reconciler and the local launcher's warm-pool keeper):
 *  - a failed warm sandbox keeps its slot until it is removed (the organiser expires it),
 *    so a runtime that cannot start is not restarted in a loop; it shows in the counts;
 *  - a sandbox being deleted or expiring holds no slot;
 *  - `starting` are creations already asked for and not yet listed.
 */
export function warmPoolDeficit(input: {
  warmPool: number;
  maxSandboxes: number | undefined;
  members: readonly PoolMember[];
  starting?: number;
}): number {
  const starting = input.starting ?? 0;
  const live = input.members.filter((m) => !m.ending);
  const unclaimed = live.filter((m) => m.unclaimed).length + starting;
  const wanted = input.warmPool - unclaimed;
  const room =
    input.maxSandboxes === undefined ? wanted : input.maxSandboxes - live.length - starting;
  return Math.max(0, Math.min(wanted, room));
}
