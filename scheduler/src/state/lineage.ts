/**
 * Walks over a task's lineage, shared by recompute (down its released dependencies) and
 * abandon (up its active dependents).
 */
import type { Task } from "./types.js";

/**
 * The tasks reachable from `root` through `next`, each after everything it reaches
 * (post-order, iterative: lineages can be long chains). `next(t)` lists the neighbours of
 * `t` to visit; `markOnVisit` decides when a task counts as seen: when it is taken off the
 * stack (recompute: a task reached twice is placed after all its dependencies), or when it
 * is pushed (abandon).
 */
export function postOrder(
  root: Task,
  next: (t: Task) => Iterable<Task>,
  markOnVisit: boolean,
): Task[] {
  const order: Task[] = [];
  const seen = new Set<Task>(markOnVisit ? [] : [root]);
  const stack: [Task, boolean][] = [[root, false]];
  while (stack.length > 0) {
    const [t, expanded] = stack.pop()!;
    if (expanded) {
      order.push(t);
      continue;
    }
    if (markOnVisit) {
      if (seen.has(t)) continue;
      seen.add(t);
    }
    stack.push([t, true]);
    for (const d of next(t)) {
      if (seen.has(d)) continue;
      if (!markOnVisit) seen.add(d);
      stack.push([d, false]);
    }
  }
  return order;
}
