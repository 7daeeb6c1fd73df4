import { describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { Bag } from "./bag.js";
import { RecordingSink } from "./testing/recording-sink.js";

/** Graph construction never touches the client: a stand-in that fails if it is used. */
const client = {
  submit: () => expect.unreachable("submit"),
  gather: () => expect.unreachable("gather"),
  wait: () => expect.unreachable("wait"),
} as unknown as Client;

async function run<T>(bag: Bag<T>): Promise<T[]> {
  const { values } = await RecordingSink.evaluate(bag.plan);
  return (values as T[][]).flat();
}

describe("Bag graphs", () => {
  it("fuses map, filter and flatMap into one task per partition", async () => {
    const bag = Bag.from(client, [1, 2, 3, 4, 5, 6], { npartitions: 3 })
      .map((x: number) => x * 10)
      .filter((x: number) => x !== 20)
      .flatMap((x: number) => [x, x + 1]);
    const { values, sink } = await RecordingSink.evaluate(bag.plan);
    expect(sink.tasks).toHaveLength(3);
    expect(sink.tasks[0]!.name).toMatch(/^bag_map_filter_flatMap/);
    expect((values as number[][]).flat()).toEqual([10, 11, 30, 31, 40, 41, 50, 51, 60, 61]);
  });
});
