import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ProtocolErrorCode } from "./messages.js";

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("error codes", () => {
  it("documents every protocol error code in the README", () => {
    for (const code of ProtocolErrorCode.options) expect(readme, code).toContain(`\`${code}\``);
  });
});
