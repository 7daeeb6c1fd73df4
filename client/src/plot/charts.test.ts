import { describe, expect, it } from "vitest";
import { bars, heatmap, round, show, speedUp, specText, timings } from "./index.js";

describe("chart specs", () => {
  it("timing bars keep the figures in usermeta and label each run's speed-up", () => {
    const spec = timings({ sequential: 2000, cluster: 800 });
    expect(spec.$schema).toContain("vega-lite/v5");
    expect(spec.usermeta).toEqual({
      launchbay: { kind: "timings", ms: { sequential: 2000, cluster: 800 } },
    });
    expect(spec.data.values.map((v) => v.label)).toEqual(["2000 ms", "800 ms (2.5× faster)"]);
    expect(speedUp(100, 400)).toBe("4.0× slower");
  });

  it("refuses what cannot be drawn, saying what is wrong", () => {
    expect(() => timings({})).toThrow(/at least one timing/);
    expect(() => timings({ a: -1 })).toThrow(/0 or more/);
    expect(() => bars([], { x: "a", y: "b" })).toThrow(/nothing to plot/);
    expect(() => bars([{ origin: "ATL", delay: 3 }], { x: "origin", y: "meanDelay" })).toThrow(
      /no row has a field "meanDelay" \(the first row has: origin, delay\)/,
    );
    expect(() => show({ $schema: "x", data: { values: [] } })).toThrow(/Vega-Lite v5/);
  });

  it("bars and heat maps inline the rows, rounded", () => {
    const b = bars([{ origin: "ATL", mean: 1.23456 }], { x: "origin", y: "mean", sort: true });
    expect(b.data.values).toEqual([{ origin: "ATL", mean: 1.235 }]);
    expect(b.encoding).toMatchObject({ y: { field: "origin", sort: "-x" }, x: { field: "mean" } });
    const h = heatmap(
      [
        { degree: 1, lambda: 0, error: 0.5 },
        { degree: 2, lambda: 0, error: 0.25 },
      ],
      { x: "lambda", y: "degree", value: "error" },
    );
    expect(h.data.values).toHaveLength(2);
    expect(JSON.stringify(h.layer)).toContain('"field":"error"');
  });

  it("rounds numbers at any depth and leaves the rest", () => {
    expect(round({ a: 1.23456, b: [2.5555, "x"], c: null, d: Number.NaN }, 2)).toEqual({
      a: 1.23,
      b: [2.56, "x"],
      c: null,
      d: Number.NaN,
    });
  });

  it("prints a text table outside a notebook", () => {
    let out = "";
    show(timings({ sequential: 1000, cluster: 500 }, { title: "map" }), {
      stream: { write: (t: string) => (out += t) },
    });
    expect(out).toBe(
      "map\nrun         ms    label\nsequential  1000  1000 ms\ncluster     500   500 ms (2.0× faster)\n",
    );
    expect(specText(bars([{ k: "a", v: 1 }], { x: "k", y: "v" }))).toBe("k  v\na  1");
  });
});
