/**
 * The scheduler's live dashboard in real Chromium, against a real scheduler and two worker
 * processes: the task stream's colour legend matches the colours drawn, each worker's
 * memory and CPU are drawn over time from its heartbeats (CPU rises while a task spins),
 * and the link a client prints when it connects opens the dashboard.
 */
import { Client } from "launchbay";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../chromium.js";
import { RuntimeCluster } from "./cluster.js";

let cluster: RuntimeCluster;
let client: Client;
let browser: Browser;
let page: Page;

interface DashboardWorker {
  name: string;
  history: { t: number; rss: number; cpu: number }[];
}

beforeAll(async () => {
  cluster = await RuntimeCluster.start({ workers: 2, nthreads: 1, heartbeatIntervalMs: 200 });
  client = await cluster.client();
  browser = await launchChromium();
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await cluster?.close();
});

/**
 * In one go (the page redraws every second): each legend entry's swatch colour, and the
 * colours ("rgb(r, g, b)") of every opaque pixel drawn on a canvas.
 */
const legendAndCanvas = (legendId: string, canvasId: string) =>
  page.evaluate(
    ([legend, canvasId]) => {
      const swatches: Record<string, string> = {};
      for (const key of document.querySelectorAll(`#${legend} .key`)) {
        const i = key.querySelector("i")!;
        swatches[(key as HTMLElement).dataset.name!] = getComputedStyle(i).backgroundColor;
      }
      const canvas = document.getElementById(canvasId) as HTMLCanvasElement;
      const px = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      const seen = new Set<string>();
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] === 255) seen.add(`rgb(${px[i]}, ${px[i + 1]}, ${px[i + 2]})`);
      }
      return { swatches, drawn: [...seen] };
    },
    [legendId, canvasId] as const,
  );

describe("dashboard", () => {
  it("opens from the link a client gives when it connects", async () => {
    // On loopback the link carries the token, as Jupyter's own URL does; the page moves it into a cookie.
    expect(client.dashboardUrl).toBe(`${cluster.httpUrl}/dashboard/?token=${cluster.token}`);
    const res = await page.goto(client.dashboardUrl);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).search).toBe("");
    await page.locator("#conn", { hasText: "live" }).waitFor();
  });

  it("explains the task stream's colours with a legend, failures included", async () => {
    function crunch(ms: number): number {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        // busy
      }
      return ms;
    }
    function fails(ms: number): number {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        // long enough to be a visible bar
      }
      throw new Error("on purpose");
    }
    await client.gather(client.map(crunch, [50, 60, 70, 80]));
    await expect(client.submit(fails, 80).result()).rejects.toThrow(/on purpose/);

    await page.locator('#stream-legend .key[data-name="crunch"]').waitFor();
    await page.locator('#stream-legend .key[data-name="failed (any function)"]').waitFor();
    // A failure is red whatever its function; the legend does not list that function's colour.
    expect(await page.locator('#stream-legend .key[data-name="fails"]').count()).toBe(0);
    // Each swatch's colour is one the stream actually drew.
    const { swatches, drawn } = await legendAndCanvas("stream-legend", "stream");
    expect(drawn).toContain(swatches.crunch);
    expect(drawn).toContain(swatches["failed (any function)"]);
    expect(swatches.crunch).not.toBe(swatches["failed (any function)"]);
  });

  it("draws each worker's memory and CPU over time from its heartbeats", async () => {
    const names = cluster.workers.map((w) => w.name).sort();
    for (const name of names)
      await page.locator(`#worker-legend .key[data-name="${name}"]`).waitFor();

    // Spins until its process has used 600 ms of CPU (not wall time: the machine may be busy).
    function spin(cpuMs: number): number {
      const start = process.cpuUsage();
      let x = 0;
      for (;;) {
        for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
        const used = process.cpuUsage(start);
        if ((used.user + used.system) / 1000 >= cpuMs) return x > 0 ? cpuMs : 0;
      }
    }
    const busy = names[0]!;
    await client.submitWith({ workers: busy }, spin, 600).result();
    // The heartbeats' CPU figures (cores × their interval) add up to the CPU the task used.
    const cpuMsOf = async (name: string) => {
      const workers = await page.evaluate(async () => {
        const res = await fetch("data.json", { credentials: "same-origin" });
        return ((await res.json()) as { workers: DashboardWorker[] }).workers;
      });
      const h = workers.find((w) => w.name === name)!.history;
      return h.slice(1).reduce((sum, s, i) => sum + s.cpu * (s.t - h[i]!.t), 0);
    };
    await expect.poll(() => cpuMsOf(busy), { timeout: 30_000, interval: 100 }).toBeGreaterThan(500);
    // Control: the other worker ran nothing, so its figures stay well below.
    expect(await cpuMsOf(names[1]!)).toBeLessThan(await cpuMsOf(busy));

    const workers = await page.evaluate(async () => {
      const res = await fetch("data.json", { credentials: "same-origin" });
      return ((await res.json()) as { workers: DashboardWorker[] }).workers;
    });
    for (const w of workers) {
      expect(w.history.length).toBeGreaterThan(1);
      expect(w.history.every((s) => s.rss > 10 * 1024 * 1024)).toBe(true);
    }
    // One line per worker in the legend's colours. On the CPU chart the busy worker's rise
    // is its own (the idle one's line along the bottom may lie under the busy one's, which is
    // why only the busy colour is required); wait for the redraw that shows it.
    await expect
      .poll(
        async () => {
          const cpu = await legendAndCanvas("worker-legend", "cpu-chart");
          return cpu.drawn.includes(cpu.swatches[busy]!);
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(true);
    const memory = await legendAndCanvas("worker-legend", "memory-chart");
    expect(names.some((name) => memory.drawn.includes(memory.swatches[name]!))).toBe(true);
  });
});

describe("Client.shared", () => {
  it("gives one client per scheduler until it is closed, then a new one", async () => {
    const options = { token: cluster.token };
    const [a, b] = await Promise.all([
      Client.shared(cluster.address, options),
      Client.shared(cluster.address, options),
    ]);
    expect(a).toBe(b);
    expect(await Client.shared(cluster.address, options)).toBe(a);
    await a.close();
    const c = await Client.shared(cluster.address, options);
    expect(c).not.toBe(a);
    expect(await c.submit((x: number) => x + 1, 1).result()).toBe(2);
    await c.close();
  });
});
