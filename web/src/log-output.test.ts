import { describe, expect, it } from "vitest";
import { decideLogFormat } from "./log-output.js";

describe("log format", () => {
  it("is readable on a terminal and JSON into pipes and files, unless asked for", () => {
    expect(decideLogFormat("auto", true)).toBe("pretty");
    expect(decideLogFormat("auto", false)).toBe("json");
    expect(decideLogFormat("json", true)).toBe("json");
    expect(decideLogFormat("pretty", false)).toBe("pretty");
  });
});
