import { describe, expect, it } from "vitest";
import type { LaunchbayError } from "./errors.js";
import { MapOptions, parseOptions, SubmitOptions, workerList } from "./options.js";

function failure(fn: () => unknown): LaunchbayError {
  try {
    fn();
  } catch (error) {
    return error as LaunchbayError;
  }
  throw new Error("expected an error");
}

describe("task options", () => {
  it("accepts every documented submit option", () => {
    const parsed = parseOptions(
      SubmitOptions,
      {
        retries: 2,
        priority: -1.5,
        pure: true,
        key: "k",
        resources: { memoryMiB: 512 },
        workers: "w-1",
        allowOtherWorkers: true,
      },
      "submit options",
    );
    expect(parsed.retries).toBe(2);
    expect(workerList(parsed.workers)).toEqual(["w-1"]);
  });

  it("names the field that is wrong and why", () => {
    const error = failure(() => parseOptions(SubmitOptions, { retries: -1 }, "submit options"));
    expect(error.code).toBe("invalid-option");
    expect(error.message).toMatch(/^invalid submit options: .*retries/s);
  });

  it("rejects unknown options instead of ignoring them", () => {
    const error = failure(() => parseOptions(SubmitOptions, { retry: 3 }, "submit options"));
    expect(error.message).toMatch(/retry/);
  });

  it("takes per-item keys for map, not a single key", () => {
    expect(parseOptions(MapOptions, { keys: ["a", "b"] }, "map options").keys).toEqual(["a", "b"]);
    expect(failure(() => parseOptions(MapOptions, { key: "a" }, "map options")).message).toMatch(
      /key/,
    );
  });

  it("rejects negative or infinite resource amounts", () => {
    expect(
      failure(() => parseOptions(SubmitOptions, { resources: { gpu: -1 } }, "submit options")).code,
    ).toBe("invalid-option");
    expect(
      failure(() =>
        parseOptions(
          SubmitOptions,
          { resources: { gpu: Number.POSITIVE_INFINITY } },
          "submit options",
        ),
      ).code,
    ).toBe("invalid-option");
  });
});
