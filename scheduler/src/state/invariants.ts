/**
 * Consistency checks over the whole state (O(tasks)): tests run them after every event.
 */
import { InvariantError } from "../errors.js";
import type { SchedulerState } from "./scheduler-state.js";
import { TASK_STATES, type Task, type TaskState } from "./types.js";

const ACTIVE = new Set<TaskState>(["waiting", "queued", "processing"]);

export function assertInvariants(s: SchedulerState): void {
  const fail = (t: Task | undefined, what: string): never => {
    const story = t
      ? `\n${s
          .story(t.key)
          .map((e) => `  ${e.join(" ")}`)
          .join("\n")}`
      : "";
    throw new InvariantError(`${t ? `task ${t.key} (${t.state}): ` : ""}${what}${story}`);
  };
  const counts = Object.fromEntries(TASK_STATES.map((st) => [st, 0])) as Record<TaskState, number>;
  const bytes = new Map<string, number>();
  const processing = new Map<string, number>();
  for (const [key, t] of s.tasks) {
    if (t.key !== key) fail(t, "is filed under another key");
    counts[t.state]++;
    // references
    if (t.wantedBy.size === 0 && t.dependents.size === 0)
      fail(t, "is known but nothing refers to it");
    for (const c of t.wantedBy) {
      if (!s.clients.get(c)?.wants.has(t)) fail(t, `wanted by ${c}, which does not list it`);
    }
    let active = 0;
    for (const d of t.dependents) {
      if (s.tasks.get(d.key) !== d) fail(t, `dependent ${d.key} is not known`);
      if (!d.deps.includes(t)) fail(t, `dependent ${d.key} does not list it as a dependency`);
      if (ACTIVE.has(d.state)) active++;
    }
    if (active !== t.activeDependents)
      fail(t, `activeDependents is ${t.activeDependents}, counted ${active}`);
    for (const d of t.deps) {
      if (s.tasks.get(d.key) !== d) fail(t, `dependency ${d.key} is not known`);
      if (!d.dependents.has(t)) fail(t, `dependency ${d.key} does not list it as a dependent`);
    }
    const needed = t.wantedBy.size > 0 || t.activeDependents > 0;
    if (ACTIVE.has(t.state) && !needed) fail(t, "is computing but nobody needs it");
    if (t.state === "memory" && t.run && !needed) fail(t, "holds a result nobody needs");
    // per state
    const missing = t.deps.filter((d) => d.state !== "memory").length;
    if (t.state === "waiting") {
      if (missing === 0) fail(t, "waits although every dependency is in memory");
      if (t.waitingCount !== missing)
        fail(t, `waitingCount is ${t.waitingCount}, ${missing} dependencies missing`);
      for (const d of t.deps) {
        if (d.state === "released" || d.state === "erred")
          fail(t, `waits on ${d.key}, which is ${d.state}`);
      }
    } else if (t.waitingCount !== 0) fail(t, "has a waitingCount outside waiting");
    const inQueue = s.queue.has(t) || s.restricted.has(t);
    if (t.state === "queued") {
      if (missing !== 0) fail(t, "is queued with dependencies not in memory");
      if (!inQueue) fail(t, "is queued but not in a queue");
      if (s.queue.has(t) && s.restricted.has(t)) fail(t, "is in both queues");
    } else if (inQueue) fail(t, "is in a queue outside queued");
    if (t.state === "processing") {
      if (t.run) {
        const w = t.processingOn === undefined ? undefined : s.workers.get(t.processingOn);
        if (!w?.processing.has(t))
          fail(t, `is processing on ${t.processingOn}, which does not list it`);
        processing.set(w!.id, (processing.get(w!.id) ?? 0) + 1);
      } else if (!t.pendingStores || t.pendingStores.size === 0)
        fail(t, "scattered data with no worker storing it");
    } else if (t.processingOn !== undefined) fail(t, "has processingOn outside processing");
    if (t.state === "memory") {
      if (t.whoHas.size === 0) fail(t, "is in memory but no worker holds it");
      for (const id of t.whoHas) {
        const w = s.workers.get(id);
        if (!w?.has.has(t)) fail(t, `held by ${id}, which does not list it`);
        bytes.set(id, (bytes.get(id) ?? 0) + t.nbytes);
      }
    } else if (t.whoHas.size > 0) fail(t, "has holders outside memory");
    if (t.pendingStores) {
      if (t.run) fail(t, "a computed task has pending stores");
      for (const id of t.pendingStores)
        if (!s.workers.get(id)?.storing.has(t)) fail(t, `store on ${id} not listed`);
    }
    if (t.state === "erred" && !t.error) fail(t, "erred without an error");
  }
  for (const st of TASK_STATES) {
    if (counts[st] !== s.counts[st])
      fail(undefined, `${s.counts[st]} tasks counted as ${st}, found ${counts[st]}`);
  }
  if (s.queue.size + s.restricted.size !== counts.queued)
    fail(undefined, "queue sizes do not match queued tasks");
  for (const w of s.workers.values()) {
    if ((processing.get(w.id) ?? 0) !== w.processing.size)
      fail(undefined, `worker ${w.name} lists stale processing tasks`);
    if ((bytes.get(w.id) ?? 0) !== w.bytesHeld)
      fail(undefined, `worker ${w.name} bytesHeld ${w.bytesHeld} != ${bytes.get(w.id) ?? 0}`);
    for (const t of w.has)
      if (s.tasks.get(t.key) !== t || !t.whoHas.has(w.id)) fail(t, `listed as held by ${w.name}`);
    for (const t of w.storing)
      if (!t.pendingStores?.has(w.id)) fail(t, `listed as storing on ${w.name}`);
    const used: Record<string, number> = {};
    for (const t of w.processing) {
      for (const [name, n] of Object.entries(t.run?.resources ?? {}))
        used[name] = (used[name] ?? 0) + n;
    }
    for (const name of new Set([...Object.keys(used), ...Object.keys(w.resourcesUsed)])) {
      const u = used[name] ?? 0;
      if (Math.abs(u - (w.resourcesUsed[name] ?? 0)) > 1e-6)
        fail(undefined, `worker ${w.name} uses ${name} inconsistently`);
      if (u > (w.resources[name] ?? 0) + 1e-6)
        fail(undefined, `worker ${w.name} overcommits ${name}`);
    }
  }
  for (const c of s.clients.values()) {
    for (const t of c.wants)
      if (s.tasks.get(t.key) !== t || !t.wantedBy.has(c.id)) fail(t, `listed as wanted by ${c.id}`);
  }
  assertCodeInvariants(s, fail);
}

/** Shipped functions and modules: held exactly while a client or a known task holds them. */
function assertCodeInvariants(
  s: SchedulerState,
  fail: (t: Task | undefined, what: string) => never,
): void {
  const code = s.code;
  const fnTasks = new Map<string, number>();
  const moduleTasks = new Map<string, number>();
  for (const t of s.tasks.values()) {
    if (!t.run) continue;
    const held = code.functions.get(t.run.fn);
    if (!held) fail(t, `runs function ${t.run.fn}, which the scheduler does not hold`);
    fnTasks.set(t.run.fn, (fnTasks.get(t.run.fn) ?? 0) + 1);
    const hash = held!.def.module?.hash;
    if (hash !== undefined) {
      if (!code.modules.has(hash)) fail(t, `runs an export of module ${hash}, which is not held`);
      moduleTasks.set(hash, (moduleTasks.get(hash) ?? 0) + 1);
    }
  }
  let bytes = 0;
  const check = (
    kind: string,
    id: string,
    held: { clients: Set<string>; tasks: number; bytes: number },
    tasks: number,
  ) => {
    bytes += held.bytes;
    if (held.tasks !== tasks)
      fail(undefined, `${kind} ${id} counts ${held.tasks} tasks, found ${tasks}`);
    if (held.clients.size === 0 && held.tasks === 0)
      fail(undefined, `${kind} ${id} is held by nothing`);
    for (const c of held.clients) {
      if (!s.clients.has(c)) fail(undefined, `${kind} ${id} is held by ${c}, which left`);
      const mine = code.heldBy(c);
      if (!(kind === "function" ? mine.functions : mine.modules).has(id))
        fail(undefined, `${kind} ${id} is held by ${c}, which does not list it`);
    }
  };
  for (const [id, held] of code.functions) check("function", id, held, fnTasks.get(id) ?? 0);
  for (const [hash, held] of code.modules) check("module", hash, held, moduleTasks.get(hash) ?? 0);
  if (bytes !== code.bytes) fail(undefined, `code bytes ${code.bytes} != ${bytes} held`);
  if (code.bytes > code.maxBytes)
    fail(undefined, `code bytes ${code.bytes} over budget ${code.maxBytes}`);
  for (const w of s.workers.values()) {
    for (const id of w.functions)
      if (!code.functions.has(id)) fail(undefined, `worker ${w.name} lists dropped function ${id}`);
    for (const hash of w.modules)
      if (!code.modules.has(hash)) fail(undefined, `worker ${w.name} lists dropped module ${hash}`);
  }
}
