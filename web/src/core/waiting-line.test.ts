import { describe, expect, it } from "vitest";
import { estimateWaitMs, WaitingLine } from "./waiting-line.js";

const GRACE = 60_000;

function lineOf(n: number, now = 0): WaitingLine {
  const line = new WaitingLine(GRACE);
  for (let i = 1; i <= n; i += 1) {
    line.join(`sb-${i}`, `owner-${i}`, now);
    line.arrived(`sb-${i}`, now);
  }
  return line;
}

describe("waiting line", () => {
  it("admits attendees first come first served, as many as seats free", () => {
    const line = lineOf(5);
    expect(line.position("sb-3")).toBe(3);
    expect(line.admit(2, 10).admitted.map((e) => e.id)).toEqual(["sb-1", "sb-2"]);
    expect(line.position("sb-3")).toBe(1);
    expect(line.admit(0, 11).admitted).toEqual([]);
    expect(line.admit(9, 12).admitted.map((e) => e.id)).toEqual(["sb-3", "sb-4", "sb-5"]);
    expect(line.length).toBe(0);
  });

  it("sync mirrors a line kept elsewhere, in its order, keeping pages open here", () => {
    const line = lineOf(3);
    line.sync([
      { id: "sb-2", owner: "owner-2", joinedAt: 0, lastSeenAt: 5 },
      { id: "sb-9", owner: "owner-9", joinedAt: 1, lastSeenAt: 1 },
    ]);
    expect(line.list().map((e) => e.id)).toEqual(["sb-2", "sb-9"]);
    expect(line.isPresent("sb-2")).toBe(true);
    expect(line.isPresent("sb-1")).toBe(false);
    expect(line.position("sb-9")).toBe(2);
  });

  it("refuses a second place for the same attendee", () => {
    const line = lineOf(1);
    expect(() => line.join("sb-x", "owner-1", 0)).toThrow(/already in line/);
  });

  it("keeps the place of an attendee who left within the grace period", () => {
    const line = lineOf(3);
    line.left("sb-2", 1_000);
    expect(line.admit(0, 1_000 + GRACE).dropped).toEqual([]);
    line.arrived("sb-2", 1_000 + GRACE);
    expect(line.position("sb-2")).toBe(2);
    expect(line.admit(3, 1_000 + GRACE + 5).admitted.map((e) => e.id)).toEqual([
      "sb-1",
      "sb-2",
      "sb-3",
    ]);
  });

  it("drops an attendee away longer than the grace period; the one behind moves up", () => {
    const line = lineOf(3);
    line.left("sb-2", 1_000);
    expect(line.nextDropAt()).toBe(1_000 + GRACE + 1);
    const { dropped } = line.admit(0, 1_000 + GRACE + 1);
    expect(dropped.map((e) => e.id)).toEqual(["sb-2"]);
    expect(line.position("sb-3")).toBe(2);
    expect(line.get("sb-2")).toBeUndefined();
  });

  it("holds a freed seat for an away head within its grace; nobody overtakes", () => {
    const line = lineOf(2);
    line.left("sb-1", 100);
    expect(line.admit(1, 200).admitted).toEqual([]);
    // They come back (an HTTP request counts as seen now): the seat is theirs.
    line.seen("sb-1", 300);
    expect(line.admit(1, 300).admitted.map((e) => e.id)).toEqual(["sb-1"]);
  });

  it("gives the seat to the next attendee once the away head's grace has run out", () => {
    const line = lineOf(2);
    line.left("sb-1", 100);
    const { admitted, dropped } = line.admit(1, 100 + GRACE + 1);
    expect(dropped.map((e) => e.id)).toEqual(["sb-1"]);
    expect(admitted.map((e) => e.id)).toEqual(["sb-2"]);
  });

  it("a page still open in another tab keeps the attendee present", () => {
    const line = lineOf(1);
    line.arrived("sb-1", 0);
    expect(line.left("sb-1", 10)).toBeUndefined();
    expect(line.admit(0, 10 + GRACE * 2).dropped).toEqual([]);
    expect(line.left("sb-1", 20)).toMatchObject({ lastSeenAt: 20 });
  });

  it("restored after a restart, keeps the order and gives everyone a grace period from now", () => {
    const line = new WaitingLine(GRACE);
    line.restore(
      [
        { id: "sb-b", owner: "b", joinedAt: 20, lastSeenAt: 25 },
        { id: "sb-a", owner: "a", joinedAt: 10, lastSeenAt: 10 },
      ],
      5_000,
    );
    expect(line.list().map((e) => [e.id, e.lastSeenAt])).toEqual([
      ["sb-a", 4_999],
      ["sb-b", 4_999],
    ]);
    // Nobody is launched while their page is away...
    expect(line.admit(1, 5_000).admitted).toEqual([]);
    expect(line.admit(0, 4_999 + GRACE).dropped).toEqual([]);
    expect(line.admit(0, 5_000 + GRACE).dropped.map((e) => e.id)).toEqual(["sb-a", "sb-b"]);
  });
});

describe("waiting-time estimate", () => {
  const base = { now: 0, lifetimeMs: 100, typicalStartMs: 5 };

  it("the first in line waits for the earliest seat to end, plus a start", () => {
    expect(estimateWaitMs({ ...base, position: 1, seatEnds: [50, 30, 70] })).toBe(35);
    expect(estimateWaitMs({ ...base, position: 3, seatEnds: [50, 30, 70] })).toBe(75);
  });

  it("past the running seats, waits for seats taken again to end", () => {
    // Seat ending at 30 is retaken at 30 and ends at 30 + 5 + 100 = 135.
    expect(estimateWaitMs({ ...base, position: 4, seatEnds: [50, 30, 70] })).toBe(140);
  });

  it("a seat that should already have ended counts as free now", () => {
    expect(estimateWaitMs({ ...base, now: 1_000, position: 1, seatEnds: [10] })).toBe(5);
  });

  it("has no estimate without seats", () => {
    expect(estimateWaitMs({ ...base, position: 1, seatEnds: [] })).toBeUndefined();
  });
});
