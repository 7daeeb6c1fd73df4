/**
 * A lazy single value computed from a collection (a count, a sum, a fold): nothing runs
 * until `compute()`.
 */
import type { Client } from "../client.js";
import { ClientRun } from "./client-sink.js";
import type { Plan } from "./plan.js";

export class Scalar<T> {
  readonly #client: Client;
  readonly #plan: Plan;
  readonly #finish: (value: unknown) => T;
  readonly #label: string;

  /** @internal Made by collection reductions (`bag.count()`, `table.describe(col)`, ...). */
  constructor(client: Client, plan: Plan, finish: (value: unknown) => T, label: string) {
    this.#client = client;
    this.#plan = plan;
    this.#finish = finish;
    this.#label = label;
  }

  /** Runs the graph on the cluster and returns the value. */
  async compute(): Promise<T> {
    const run = new ClientRun(this.#client);
    const [value] = await run.values([run.builder.partition(this.#plan, 0)]);
    return this.#finish(value);
  }

  /** @internal The plan (one partition), for tests and for collections built on it. */
  get plan(): Plan {
    return this.#plan;
  }

  /** @internal Turns the plan's one partition into the value (runs on the client). */
  finishValue(value: unknown): T {
    return this.#finish(value);
  }

  toString(): string {
    return `Scalar(${this.#label})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }
}
