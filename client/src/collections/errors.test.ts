import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COLLECTION_ERROR_CODES, CollectionError } from "./errors.js";

const docs = readFileSync(new URL("../../docs/collections.md", import.meta.url), "utf8");

describe("collection errors", () => {
  it("documents every code in client/docs/collections.md", () => {
    const documented = [...docs.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...COLLECTION_ERROR_CODES]);
  });

  it("carries its code, message and cause", () => {
    const cause = new Error("underlying");
    const error = new CollectionError("client-closed", "connect again", { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("CollectionError");
    expect(error.code).toBe("client-closed");
    expect(error.cause).toBe(cause);
  });
});
