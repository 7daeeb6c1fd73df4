import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { SaveBridge } from "./save-bridge.js";

// The launcher's side of the save bridge over real WebSockets: tabs are `ws` clients that
// answer as the JupyterLab extension does (or not at all, or wrongly).
let server: WebSocketServer | undefined;
let bridge: SaveBridge | undefined;
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients) c.terminate();
  clients.length = 0;
  bridge?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A bridge behind a WebSocket server; `tab(id)` connects one tab of sandbox `id`. */
async function setUp() {
  const b = new SaveBridge();
  bridge = b;
  const s = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  server = s;
  await new Promise<void>((resolve) => s.once("listening", () => resolve()));
  s.on("connection", (ws, req) =>
    b.attach(new URL(req.url!, "http://x").searchParams.get("id")!, ws),
  );
  const port = (s.address() as AddressInfo).port;
  const tab = async (id: string, answer?: (request: number) => unknown) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/?id=${id}`);
    clients.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    const asked: number[] = [];
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString()) as { type: string; request: number };
      expect(msg.type).toBe("save");
      asked.push(msg.request);
      const reply = answer?.(msg.request);
      if (reply !== undefined) ws.send(typeof reply === "string" ? reply : JSON.stringify(reply));
    });
    // Attached once the server saw it.
    await expect.poll(() => b.connected(id)).toBeGreaterThan(0);
    return { ws, asked };
  };
  return { bridge: b, tab };
}

const closed = (ws: WebSocket) =>
  new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));

describe("save bridge", () => {
  it("asks every tab of the sandbox, and only its tabs, and adds up their answers", async () => {
    const { bridge, tab } = await setUp();
    const a = await tab("sb-a", (request) => ({ type: "saved", request, saved: 2, failed: 0 }));
    const b = await tab("sb-a", (request) => ({ type: "saved", request, saved: 1, failed: 1 }));
    const other = await tab("sb-b", (request) => ({ type: "saved", request, saved: 5, failed: 0 }));
    expect(bridge.connected("sb-a")).toBe(2);
    const outcome = await bridge.saveAll("sb-a", 30_000);
    expect(outcome).toEqual({ tabs: 2, answered: 2, saved: 3, failed: 1 });
    expect(a.asked).toHaveLength(1);
    expect(b.asked).toHaveLength(1);
    expect(other.asked).toHaveLength(0);
    expect(await bridge.saveAll("sb-none", 30_000)).toEqual({
      tabs: 0,
      answered: 0,
      saved: 0,
      failed: 0,
    });
  });

  it("never waits past its time for a tab that does not answer; a late answer is ignored", async () => {
    const { bridge, tab } = await setUp();
    const silent = await tab("sb-a");
    await tab("sb-a", (request) => ({ type: "saved", request, saved: 1, failed: 0 }));
    const outcome = await bridge.saveAll("sb-a", 200);
    expect(outcome).toEqual({ tabs: 2, answered: 1, saved: 1, failed: 0 });
    // Its answer after the time was up does not count, and the tab stays connected.
    silent.ws.send(
      JSON.stringify({ type: "saved", request: silent.asked[0], saved: 1, failed: 0 }),
    );
    const next = await bridge.saveAll("sb-a", 200);
    expect(next.tabs).toBe(2);
    expect(silent.ws.readyState).toBe(WebSocket.OPEN);
  });

  it("a tab that goes away while asked counts as not answering", async () => {
    const { bridge, tab } = await setUp();
    await tab("sb-a", () => {
      clients[0]!.close();
      return undefined;
    });
    const outcome = await bridge.saveAll("sb-a", 60_000);
    expect(outcome).toEqual({ tabs: 1, answered: 0, saved: 0, failed: 0 });
    await expect.poll(() => bridge.connected("sb-a")).toBe(0);
  });

  it("a tab can only answer: anything else closes its socket (control: a right answer keeps it)", async () => {
    const { bridge, tab } = await setUp();
    const good = await tab("sb-a", (request) => ({ type: "saved", request, saved: 0, failed: 0 }));
    await bridge.saveAll("sb-a", 30_000);
    expect(good.ws.readyState).toBe(WebSocket.OPEN);
    for (const bad of [
      JSON.stringify({ type: "save", request: 1 }),
      JSON.stringify({ type: "saved", request: 999_999, saved: 0, failed: 0 }),
      JSON.stringify({ type: "saved", request: 1, saved: -1, failed: 0 }),
      JSON.stringify({ type: "run", code: "rm -rf ~" }),
      "not json",
    ]) {
      const { ws } = await tab("sb-x");
      const code = closed(ws);
      ws.send(bad);
      expect(await code).toBe(1008);
    }
  });

  it("does not ask when its time is 0", async () => {
    const { bridge, tab } = await setUp();
    const a = await tab("sb-a", (request) => ({ type: "saved", request, saved: 1, failed: 0 }));
    expect(await bridge.saveAll("sb-a", 0)).toEqual({ tabs: 1, answered: 0, saved: 0, failed: 0 });
    expect(a.asked).toHaveLength(0);
  });
});
