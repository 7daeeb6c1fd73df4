/**
 * Hand-written checks for the messages that flow once or more per task (submit-task,
 * task-finished, compute-task, key-in-memory, release-keys, ...). They accept only the
 * plain, common shape of each message and build exactly what the zod schema would return
 * for it (defaults filled in, nothing else); anything else (an optional field, an extra
 * key, a value out of range) returns `undefined` and the connection falls back to the
 * zod schema, which stays the reference and words the error. `fast-checks.test.ts` checks
 * that every message a fast check accepts, zod accepts with the same result.
 */
import type { z } from "zod";
import {
  ClientToScheduler,
  SchedulerToClient,
  SchedulerToWorker,
  WorkerToPeer,
  WorkerToScheduler,
} from "./messages.js";

type Check = (m: Record<string, unknown>) => unknown;

const KEY_MAX = 1024;
const isKey = (v: unknown): v is string =>
  typeof v === "string" && v.length >= 1 && v.length <= KEY_MAX;
const isCount = (v: unknown): v is number =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function isKeyList(v: unknown, max = Number.POSITIVE_INFINITY): v is string[] {
  if (!Array.isArray(v) || v.length > max) return false;
  for (let i = 0; i < v.length; i++) if (!isKey(v[i])) return false;
  return true;
}

function isStringList(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string") return false;
  return true;
}

/** True when `m` has no own enumerable keys besides `allowed`. */
function onlyKeys(m: Record<string, unknown>, allowed: number, optional?: string): boolean {
  let n = 0;
  for (const k in m) {
    if (!Object.hasOwn(m, k)) return false;
    n++;
  }
  return n === allowed || (optional !== undefined && n === allowed + 1 && optional in m);
}

const submitTask: Check = (m) => {
  const { key, fn, args, deps, priority = 0, retries = 0, allowOtherWorkers = false } = m;
  let n = 5;
  if (m.priority !== undefined) n++;
  if (m.retries !== undefined) n++;
  if (m.allowOtherWorkers !== undefined) n++;
  if (!onlyKeys(m, n)) return undefined;
  if (!isKey(key) || typeof fn !== "string" || fn.length < 5 || fn.length > 200) return undefined;
  if (!isBytes(args) || !isKeyList(deps, 100_000) || !isFiniteNumber(priority)) return undefined;
  if (!isCount(retries) || retries > 100 || typeof allowOtherWorkers !== "boolean")
    return undefined;
  return {
    type: "submit-task",
    key,
    fn,
    args,
    deps: deps.slice(),
    priority,
    retries,
    allowOtherWorkers,
  };
};

const keyList =
  (type: string): Check =>
  (m) =>
    onlyKeys(m, 2) && isKeyList(m.keys) ? { type, keys: m.keys.slice() } : undefined;

const taskFinished: Check = (m) => {
  const { key, nbytes, durationMs, data } = m;
  if (!onlyKeys(m, data === undefined ? 4 : 5)) return undefined;
  if (!isKey(key) || !isCount(nbytes) || !isFiniteNumber(durationMs) || durationMs < 0)
    return undefined;
  if (data === undefined) return { type: "task-finished", key, nbytes, durationMs };
  return isBytes(data) ? { type: "task-finished", key, nbytes, durationMs, data } : undefined;
};

const keyInMemory: Check = (m) => {
  const { key, nbytes, data } = m;
  if (!onlyKeys(m, data === undefined ? 3 : 4) || !isKey(key) || !isCount(nbytes)) return undefined;
  if (data === undefined) return { type: "key-in-memory", key, nbytes };
  return isBytes(data) ? { type: "key-in-memory", key, nbytes, data } : undefined;
};

const computeTask: Check = (m) => {
  const { key, fn, args, deps, priority } = m;
  if (!onlyKeys(m, 6) || !isKey(key) || typeof fn !== "string" || !isBytes(args)) return undefined;
  if (!isFiniteNumber(priority) || !Array.isArray(deps)) return undefined;
  const out: { key: string; nbytes: number; who: string[] }[] = new Array(deps.length);
  for (let i = 0; i < deps.length; i++) {
    const d = deps[i] as Record<string, unknown> | null;
    if (typeof d !== "object" || d === null || Array.isArray(d) || !onlyKeys(d, 3))
      return undefined;
    if (!isKey(d.key) || !isCount(d.nbytes) || !isStringList(d.who)) return undefined;
    out[i] = { key: d.key, nbytes: d.nbytes, who: d.who.slice() };
  }
  return { type: "compute-task", key, fn, args, deps: out, priority };
};

const dataReply: Check = (m) => {
  const { requestId, items, missing } = m;
  if (!onlyKeys(m, 4) || !isCount(requestId) || !isKeyList(missing) || !Array.isArray(items))
    return undefined;
  const out: { key: string; data: Uint8Array }[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as Record<string, unknown> | null;
    if (typeof item !== "object" || item === null || Array.isArray(item) || !onlyKeys(item, 2))
      return undefined;
    if (!isKey(item.key) || !isBytes(item.data)) return undefined;
    out[i] = { key: item.key, data: item.data };
  }
  return { type: "data", requestId, items: out, missing: missing.slice() };
};

/** Fast checks by schema, then by message type. */
const CHECKS = new Map<z.ZodType, Record<string, Check>>([
  [
    ClientToScheduler,
    {
      "submit-task": submitTask,
      "release-keys": keyList("release-keys"),
      "want-keys": keyList("want-keys"),
      "cancel-keys": keyList("cancel-keys"),
    },
  ],
  [WorkerToScheduler, { "task-finished": taskFinished }],
  [SchedulerToWorker, { "compute-task": computeTask, "free-keys": keyList("free-keys") }],
  [SchedulerToClient, { "key-in-memory": keyInMemory }],
  [WorkerToPeer, { data: dataReply }],
]);

/** The checks `schema` has (undefined: always use zod). */
export function fastChecksFor(schema: z.ZodType): Readonly<Record<string, Check>> | undefined {
  return CHECKS.get(schema);
}

/**
 * What `schema.safeParse(raw)` would return as data, for the common shapes only;
 * `undefined` means "ask zod" (not necessarily invalid).
 */
export function fastCheck(
  checks: Readonly<Record<string, Check>> | undefined,
  raw: unknown,
): unknown {
  if (checks === undefined || typeof raw !== "object" || raw === null) return undefined;
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== "string" || !Object.hasOwn(checks, type)) return undefined;
  if (Object.getPrototypeOf(raw) !== Object.prototype) return undefined;
  return checks[type]!(raw as Record<string, unknown>);
}
