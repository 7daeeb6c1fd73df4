import { describe, expect, it } from "vitest";
import { computed, Harness, toClient, toWorker } from "./testing/harness.js";

describe("restart", () => {
  it("loses every client's keys, forgets every task, restarts every worker, and replies once all are back", () => {
    const h = new Harness().client("c1").client("c2");
    h.worker("w1");
    h.worker("w2");
    h.submit("a");
    h.submit("b", ["a"]);
    h.submit("x", [], { client: "c2" });
    const running = [h.on("a"), h.on("x")];
    h.finish(running[0]!, "a");
    const out = h.fromClient("c1", { type: "restart", requestId: 7 });
    expect(
      toClient(out)
        .filter((m) => m.type === "key-lost")
        .map((m) => m.type === "key-lost" && [m.key, m.code])
        .sort(),
    ).toEqual([
      ["a", "restarted"],
      ["b", "restarted"],
      ["x", "restarted"],
    ]);
    expect(toWorker(out, "w1").map((m) => m.type)).toContain("restart");
    expect(toWorker(out, "w2").map((m) => m.type)).toContain("restart");
    expect(h.s.tasks.size).toBe(0);
    expect(h.s.workers.size).toBe(0);
    expect(toClient(out, "c1").some((m) => m.type === "restart-reply")).toBe(false);

    // New work waits for the workers; the old connections closing changes nothing.
    expect(computed(h.submit("a"))).toEqual([]);
    h.workerLeft("w1");
    h.workerLeft("w2");
    expect(toClient(h.worker("w3", { name: "w1" }), "c1")).toEqual([]);
    const back = h.worker("w4", { name: "w2" });
    expect(toClient(back, "c1")).toEqual([{ type: "restart-reply", requestId: 7, workers: 2 }]);
    expect(h.state("a")).toBe("processing");
  });

  it("replies at once when no worker is connected", () => {
    const h = new Harness().client();
    expect(toClient(h.fromClient("c1", { type: "restart", requestId: 1 }))).toEqual([
      { type: "restart-reply", requestId: 1, workers: 0 },
    ]);
  });
});
