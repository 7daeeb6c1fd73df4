import { describe, expect, it } from "vitest";
import { percentOf, progressHtml, progressLine } from "./render.js";

describe("progress rendering", () => {
  it("draws a bar, the percentage, done/total, errors and time", () => {
    const line = progressLine({ total: 30, finished: 11, erred: 1, elapsedMs: 3_210 }, 20);
    expect(line).toBe("[########------------]  40% | 12/30 tasks | 1 erred | 3.2 s");
    expect(progressLine({ total: 4, finished: 4, erred: 0, elapsedMs: 61_000 }, 10)).toBe(
      "[##########] 100% | 4/4 tasks | 1 min 1 s",
    );
    expect(percentOf({ total: 0, finished: 0, erred: 0, elapsedMs: 0 })).toBe(100);
  });

  it("draws the erred share in red and escapes the label in HTML", () => {
    const html = progressHtml({ total: 4, finished: 2, erred: 1, elapsedMs: 0 }, "<fit>");
    expect(html).toContain("width:50.00%;background:#43a047");
    expect(html).toContain("width:25.00%;background:#c62828");
    expect(html).toContain("&#60;fit&#62;");
    expect(html).toContain("75% · 3/4 tasks");
  });
});
