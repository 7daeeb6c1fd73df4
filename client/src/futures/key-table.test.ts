import { describe, expect, it } from "vitest";
import { CancelledError, FutureLostError, RemoteTaskError, SchedulerLostError } from "../errors.js";
import { KeyTable } from "./key-table.js";

function table() {
  let pendingSignals = 0;
  const t = new KeyTable(() => pendingSignals++);
  return { t, signals: () => pendingSignals };
}

describe("KeyTable", () => {
  it("releases a key once its last reference goes, in one batch", () => {
    const { t, signals } = table();
    const a = t.create("a", 1);
    const b = t.create("b", 1);
    a.refs = 2;
    b.refs = 1;
    t.decref(a);
    expect(signals()).toBe(0);
    t.decref(a);
    t.decref(b);
    expect(signals()).toBe(1);
    expect(t.takeReleases()).toEqual(["a", "b"]);
    expect(t.get("a")).toBeUndefined();
    expect(a.attached).toBe(false);
    expect(a.released).toBe(true);
    expect(t.takeReleases()).toEqual([]);
  });

  it("keeps a key whose reference count came back before the batch went out", () => {
    const { t } = table();
    const a = t.create("a", 1);
    a.refs = 1;
    t.decref(a);
    a.refs++; // a pure resubmission got a new future for the same key
    expect(t.takeReleases()).toEqual([]);
    expect(t.get("a")).toBe(a);
  });

  it("applies results, errors and losses to the right keys", () => {
    const { t } = table();
    const a = t.create("a", 1);
    const b = t.create("b", 1);
    const c = t.create("c", 1);
    const data = new Uint8Array([1, 2]);
    t.inMemory("a", 2, data);
    t.erred("b", { name: "TypeError", message: "boom", stack: "TypeError: boom\n    at task" });
    t.lost("c", "lost-dependency", "its input was lost");
    t.inMemory("unknown", 1, undefined);
    expect(a.status).toBe("finished");
    expect(a.data).toBe(data);
    expect(b.status).toBe("error");
    expect(b.error).toBeInstanceOf(RemoteTaskError);
    expect(b.error?.message).toBe(
      "task b failed: TypeError: boom\n--- remote stack ---\nTypeError: boom\n    at task",
    );
    expect(c.status).toBe("lost");
    expect(c.error).toBeInstanceOf(FutureLostError);
    expect(c.error?.message).toBe("future c is lost: its input was lost");
    expect(t.get("c")).toBeUndefined();
  });

  it("marks a key lost with code cancelled as cancelled", () => {
    const { t } = table();
    const a = t.create("a", 1);
    t.lost("a", "cancelled", "task a was cancelled");
    expect(a.status).toBe("cancelled");
    expect(a.error).toBeInstanceOf(CancelledError);
  });

  it("cancels only keys it still tracks, and reports them once", () => {
    const { t } = table();
    const a = t.create("a", 1);
    const b = t.create("b", 1);
    t.inMemory("b", 1, new Uint8Array([1]));
    expect(t.cancel([a, b, a])).toEqual(["a", "b"]);
    expect(a.status).toBe("cancelled");
    expect(b.status).toBe("cancelled");
    expect(b.data).toBeUndefined();
    expect(t.cancel([a])).toEqual([]);
    a.refs = 1;
    t.decref(a);
    expect(t.takeReleases()).toEqual([]);
  });

  it("on a lost session fails pending and not-yet-fetched keys but keeps results already here", () => {
    const { t } = table();
    const pending = t.create("pending", 1);
    const remote = t.create("remote", 1);
    const inline = t.create("inline", 1);
    const erred = t.create("erred", 1);
    t.inMemory("remote", 10_000_000, undefined);
    t.inMemory("inline", 1, new Uint8Array([7]));
    t.erred("erred", { name: "Error", message: "x" });
    const error = new SchedulerLostError("ws://127.0.0.1:1");
    t.endSession(error);
    expect(pending.status).toBe("lost");
    expect(pending.error).toBe(error);
    expect(remote.status).toBe("lost");
    expect(inline.status).toBe("finished");
    expect(inline.sessionError).toBe(error);
    expect(erred.status).toBe("error");
    expect(t.size).toBe(0);
  });

  it("notifies done listeners once, and not after they were removed", () => {
    const { t } = table();
    const a = t.create("a", 1);
    const calls: string[] = [];
    const removed = () => calls.push("removed");
    a.onDone(() => calls.push("first"));
    a.onDone(removed);
    a.offDone(removed);
    t.inMemory("a", 1, undefined);
    t.inMemory("a", 1, undefined);
    a.onDone(() => calls.push("late"));
    expect(calls).toEqual(["first", "late"]);
  });
});
