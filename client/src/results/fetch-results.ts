/**
 * Turns finished keys into values: inline results are deserialised from the bytes the
 * scheduler sent; larger ones are fetched straight from a worker holding them (`who-has`
 * at the scheduler, then `get-data` on the worker's data port, one request per worker
 * for a whole gather; a single large result comes by bulk transfer, like dependencies
 * between workers).
 */
import type { DataClient } from "@launchbay/protocol";
import { LaunchbayError } from "../errors.js";
import type { KeyState } from "../futures/key-state.js";
import { decodeValue } from "../values/primitive-values.js";

export interface WhoHasSource {
  whoHas(keys: string[]): Promise<Record<string, string[]>>;
}

const RETRY_DELAYS_MS = [0, 50, 100, 200, 400, 800, 1600];

/** Values of finished keys, in order. Throws the key's error if one of them failed meanwhile. */
export async function fetchValues(
  states: readonly KeyState[],
  scheduler: WhoHasSource,
  peers: DataClient,
): Promise<unknown[]> {
  const bytes = new Map<string, Uint8Array>();
  const remote: KeyState[] = [];
  for (const state of states) {
    if (state.data !== undefined) bytes.set(state.key, state.data);
    else if (!bytes.has(state.key) && !remote.includes(state)) remote.push(state);
  }
  if (remote.length > 0) await fetchRemote(remote, scheduler, peers, bytes);
  return states.map((state) => {
    const data = bytes.get(state.key);
    if (data === undefined) throw new Error(`internal: no data for ${state.key}`);
    return decodeValue(data);
  });
}

async function fetchRemote(
  states: KeyState[],
  scheduler: WhoHasSource,
  peers: DataClient,
  out: Map<string, Uint8Array>,
): Promise<void> {
  let todo = states;
  const problems = new Map<string, string>();
  for (const delay of RETRY_DELAYS_MS) {
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    for (const state of todo) {
      if (state.status !== "finished" || !state.attached) {
        throw (
          state.error ??
          new LaunchbayError(
            "released",
            `future ${state.key} was released while its result was being fetched`,
          )
        );
      }
    }
    const who = await scheduler.whoHas(todo.map((s) => s.key));
    const byAddress = new Map<string, string[]>();
    let spread = 0;
    for (const state of todo) {
      const addresses = who[state.key] ?? [];
      if (addresses.length === 0) {
        problems.set(state.key, "no worker holds it right now");
        continue;
      }
      const address = addresses[spread++ % addresses.length]!;
      const keys = byAddress.get(address);
      if (keys) keys.push(state.key);
      else byAddress.set(address, [state.key]);
    }
    const nbytes = new Map(todo.map((s) => [s.key, s.nbytes]));
    await Promise.all(
      [...byAddress].map(async ([address, keys]) => {
        const size = keys.reduce((sum, key) => sum + (nbytes.get(key) ?? 0), 0);
        const { items, missing, problem } = await peers.fetch(address, keys, size);
        for (const { key, data } of items) out.set(key, data);
        for (const key of missing)
          problems.set(key, `worker ${address}: ${problem ?? "no longer had it"}`);
      }),
    );
    todo = todo.filter((state) => !out.has(state.key));
    if (todo.length === 0) return;
  }
  const first = todo[0]!;
  throw new LaunchbayError(
    "data-unavailable",
    `the result of ${first.key} (${first.nbytes} bytes)${todo.length > 1 ? ` and ${todo.length - 1} more` : ""} ` +
      `could not be fetched from the workers: ${problems.get(first.key) ?? "unknown"}. ` +
      "Its worker may have died: check client.info(); the scheduler recomputes lost results, so try result() again",
  );
}
