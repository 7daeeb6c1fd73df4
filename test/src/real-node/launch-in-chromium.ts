import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { archiveKey, type S3StoreOptions } from "@launchbay/archive";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../chromium.js";
import { kubectl, ok } from "../helm/chart-tools.js";
import { tslabNotebook } from "../tslab-notebook.js";
import { launcherHost, sandboxDomain } from "./chart-install.js";
import { getJson, podsIn } from "./pods.js";

/**
 * One attendee's whole visit on real pods, in real Chromium: the launcher pod's page →
 * Launch → live progress → JupyterLab served by the notebook pod through the launcher's
 * per-sandbox origin → TypeScript cells computed on the three worker pods (one of them
 * killed mid-computation) → "Download my work" → expiry: the kubelet stops the notebook pod,
 * its `work-archive` container zips the work folder and PUTs it to MinIO (on this machine),
 * and the namespace is gone → the expiry panel's "Download my work" serves that archive →
 * "Start a new sandbox with my work" puts it back into the next sandbox's notebook.
 *
 * Chromium reaches the launcher the way an attendee reaches an ingress: by host name. Its
 * resolver maps the launcher's host and every `<sandbox>.<sandboxDomain>` to the launcher
 * Service's ClusterIP, which kube-proxy on this machine forwards to the launcher pod.
 */

const run = promisify(execFile);

/** The first cell: the sum of squares 0..29, and the pods that computed them. */
const squaresCell = `import { Client } from "launchbay";
const client = await Client.connect();
const squares = await client.gather(
  client.map((x: number) => {
    const end = Date.now() + 100;
    while (Date.now() < end) {}
    return { square: x * x, pod: String(process.env.HOSTNAME) };
  }, Array.from({ length: 30 }, (_, i) => i)),
);
console.log("SQUARES " + squares.reduce((a, r) => a + r.square, 0) + " PODS " + [...new Set(squares.map((r) => r.pod))].sort().join(","));`;
const squaresSum = (29 * 30 * 59) / 6;

/** The second cell: long enough (120 × 250 ms on 3 one-thread workers) to kill a worker in. */
const doublesCell = `const doubled = await client.gather(
  client.map((x: number) => {
    const end = Date.now() + 250;
    while (Date.now() < end) {}
    return x * 2;
  }, Array.from({ length: 120 }, (_, i) => i)),
);
console.log("DOUBLED " + doubled.reduce((a, x) => a + x, 0) + " AT " + Date.now());`;
const doubledSum = 119 * 120;

/** The third cell: waits on a two-minute task, long enough to kill the scheduler under it. */
const waitCell = `try {
  await client.submit((ms: number) => { const end = Date.now() + ms; while (Date.now() < end) {} return 1; }, 120_000).result();
  console.log("NOT LOST");
} catch (e) {
  console.log("LOST " + (e as Error).message);
}`;

/** The fourth cell: new work on the same client once the scheduler is back. */
const nextCell = `await client.whenConnected();
console.log("NEW " + (await client.gather(client.map((x: number) => x + 1, [1, 2, 3]))).join(","));`;

interface DashboardWorker {
  name: string;
  processing: number;
}

interface LaunchFigures {
  clickToReadyMs: number;
  clickToLabMs: number;
  clickToFirstResultMs: number;
  killToResultMs: number;
  schedulerKillToNextResultMs: number;
  expiryToGoneMs: number;
  expiryToArchivedMs: number;
  relaunchToRestoredMs: number;
}

/** Every file of a zip (checked whole by Python's zipfile), by name. */
async function zipFiles(zipPath: string): Promise<Record<string, string>> {
  const script =
    "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({n:z.read(n).decode('utf8','replace') for n in z.namelist()}))";
  const { stdout } = await run("python3", ["-c", script, zipPath]);
  return JSON.parse(stdout) as Record<string, string>;
}

export function describeLaunchInChromium(
  env: () => {
    releaseNamespace: string;
    launcherService: string;
    /** The bucket the chart archives to (MinIO), read here with the S3 API. */
    archive: { store: S3StoreOptions; prefix: string };
  },
): void {
  describe.sequential("one launch end to end in real Chromium", () => {
    const figures: Partial<LaunchFigures> = {};
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let lab: Page;
    let id = "";
    let namespace = "";
    let clicked = 0;
    let workDir = "";
    let s3: S3Client | undefined;
    /** The attendee's archive in the bucket (from their Sandbox's owner and workshop). */
    let objectKey = "";
    /** When the archive object was last written, or undefined while there is none. */
    const archivedAt = async (): Promise<number | undefined> => {
      try {
        const head = await (s3 as S3Client).send(
          new HeadObjectCommand({ Bucket: env().archive.store.bucket, Key: objectKey }),
        );
        return head.LastModified?.getTime() ?? 0;
      } catch (error) {
        if (
          (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
        )
          return undefined;
        throw error;
      }
    };

    // The visible notebook's cells: 01-map.ipynb, which the sandbox opens first, stays open
    // in a hidden tab.
    const cell = (n: number) =>
      lab.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(n);
    const outputOf = async (n: number) =>
      (await cell(n).locator(".jp-OutputArea-output").allTextContents()).join("\n");
    const dashboardWorkers = () =>
      lab.evaluate(async (sandbox) => {
        const res = await fetch(`/s/${sandbox}/dashboard/data.json`);
        if (!res.ok) return [];
        return ((await res.json()) as { workers: DashboardWorker[] }).workers;
      }, id);
    /** Runs cell n from the JupyterLab UI (click into it, Shift+Enter). */
    const runCell = async (n: number) => {
      await cell(n).locator(".cm-content").click();
      await lab.keyboard.press("Shift+Enter");
    };
    const workerPods = async () =>
      (await podsIn(namespace, "app.kubernetes.io/component=worker"))
        .filter((p) => p.status.phase === "Running" && !("deletionTimestamp" in p.metadata))
        .map((p) => p.metadata.name)
        .sort();

    beforeAll(async () => {
      workDir = await mkdtemp(join(tmpdir(), "lb-real-launch-"));
      const { releaseNamespace, launcherService } = env();
      const service = await getJson<{ spec: { clusterIP: string } }>(
        "get",
        "service",
        launcherService,
        "-n",
        releaseNamespace,
      );
      const ip = service.spec.clusterIP;
      browser = await launchChromium([
        `--host-resolver-rules=MAP ${launcherHost} ${ip}, MAP *.${sandboxDomain} ${ip}`,
      ]);
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      page = await context.newPage();
      const { store } = env().archive;
      s3 = new S3Client({
        endpoint: store.endpoint,
        region: store.region,
        forcePathStyle: true,
        credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
      });
    });

    afterAll(async () => {
      console.info(`[real-node] launch figures: ${JSON.stringify(figures)}`);
      s3?.destroy();
      await browser?.close();
      if (workDir) await rm(workDir, { recursive: true, force: true });
    });

    it("the launcher pod's page → Launch → live progress → JupyterLab served by the notebook pod", async () => {
      await page.goto(`http://${launcherHost}/`);
      await expect.poll(() => page.textContent("#capacity")).toMatch(/sandboxes left/);
      clicked = Date.now();
      await page.click("#launch");
      // Live progress: a step done while the others still run, streamed from the launcher pod.
      await page.waitForSelector("#progress:not(.hidden)");
      await page.waitForSelector("#steps li.done", { timeout: 180_000 });
      const steps = (await page.locator("#steps li").allTextContents()).join(" · ");
      await page.waitForURL(/\/s\/sb-[a-z2-7]{20}\/$/, { timeout: 180_000 });
      figures.clickToReadyMs = Date.now() - clicked;
      id = new URL(page.url()).pathname.split("/")[2] as string;
      const sandbox = await getJson<{
        spec: { owner?: string; workshop: string };
        status?: { namespace?: string };
      }>("get", "sandbox", id, "-n", env().releaseNamespace);
      namespace = sandbox.status?.namespace ?? "";
      expect(namespace).not.toBe("");
      expect(sandbox.spec.owner).toBeTruthy();
      objectKey = archiveKey(
        env().archive.prefix,
        { namespace: env().releaseNamespace, workshop: sandbox.spec.workshop },
        sandbox.spec.owner as string,
      );

      await page.waitForSelector("#open:not(.hidden)");
      const [opened] = await Promise.all([context.waitForEvent("page"), page.click("#open")]);
      lab = opened;
      // The sandbox opens on the tutorial's first notebook (Jupyter's default_url).
      await lab.waitForURL(`http://${id}.${sandboxDomain}/s/${id}/notebook/lab/tree/01-map.ipynb`, {
        timeout: 60_000,
      });
      // Usable: JupyterLab's file browser lists the tutorial notebooks the notebook pod seeded.
      await lab.getByText("01-map.ipynb").first().waitFor({ timeout: 180_000 });
      figures.clickToLabMs = Date.now() - clicked;
      console.info(
        `[real-node] click → Ready ${figures.clickToReadyMs} ms, click → usable JupyterLab ${figures.clickToLabMs} ms (progress seen: ${steps})`,
      );
      // It is the notebook pod that serves it: JupyterLab's own API answers through the origin.
      const status = await lab.evaluate(
        async (sandbox) => (await fetch(`/s/${sandbox}/notebook/api/status`)).status,
        id,
      );
      expect(status).toBe(200);
    });

    it("a TypeScript cell, run from JupyterLab, is computed on the three worker pods", async () => {
      expect(id).not.toBe("");
      const put = await lab.evaluate(
        async ({ sandbox, body }) =>
          (
            await fetch(`/s/${sandbox}/notebook/api/contents/e2e.ipynb`, {
              method: "PUT",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(body),
            })
          ).status,
        {
          sandbox: id,
          body: {
            type: "notebook",
            content: tslabNotebook([squaresCell, doublesCell, waitCell, nextCell]),
          },
        },
      );
      expect(put).toBe(201);
      await lab.goto(`http://${id}.${sandboxDomain}/s/${id}/notebook/lab/tree/e2e.ipynb`);
      await cell(0).locator(".cm-content").waitFor({ timeout: 120_000 });
      await lab
        .getByText(/TypeScript \| Idle/)
        .first()
        .waitFor({ timeout: 120_000 });
      const pods = await workerPods();
      expect(pods).toHaveLength(3);
      await runCell(0);
      await expect
        .poll(() => outputOf(0), { timeout: 170_000, interval: 500 })
        .toMatch(/SQUARES \d+ PODS /);
      figures.clickToFirstResultMs = Date.now() - clicked;
      const line = /SQUARES (\d+) PODS (\S+)/.exec(await outputOf(0));
      expect(Number(line?.[1])).toBe(squaresSum);
      expect(line?.[2]?.split(",")).toEqual(pods);
    });

    it("a worker pod killed mid-computation: the Deployment replaces it, the scheduler recomputes, the result is right", async () => {
      expect(id).not.toBe("");
      const before = await workerPods();
      await runCell(1);
      // The victim is a worker pod the scheduler has given tasks to (the dashboard, read
      // through the attendee's sandbox origin).
      let victim: string | undefined;
      await expect
        .poll(
          async () => {
            const workers = await dashboardWorkers();
            victim = workers.find((w) => w.processing > 0 && before.includes(w.name))?.name;
            return victim;
          },
          { timeout: 120_000, interval: 200 },
        )
        .toBeDefined();
      const killed = Date.now();
      ok(
        await kubectl([
          "delete",
          "pod",
          "-n",
          namespace,
          victim as string,
          "--grace-period=0",
          "--force",
        ]),
        `kill worker pod ${victim}`,
      );
      await expect
        .poll(() => outputOf(1), { timeout: 170_000, interval: 500 })
        .toMatch(/DOUBLED \d+ AT \d+/);
      figures.killToResultMs = Date.now() - killed;
      const line = /DOUBLED (\d+) AT (\d+)/.exec(await outputOf(1));
      expect(Number(line?.[1])).toBe(doubledSum);
      // The worker was gone before the map finished: the scheduler removed it while the
      // cell was still waiting (same clock: every pod runs on this machine).
      const schedulerPod = (await podsIn(namespace, "app.kubernetes.io/component=scheduler"))[0];
      const log = ok(
        await kubectl(["logs", "-n", namespace, schedulerPod?.metadata.name ?? "scheduler"]),
        "scheduler logs",
      );
      const removed = log
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg?: string; name?: string; time?: number })
        .find((entry) => entry.msg === "Worker removed" && entry.name === victim);
      expect(removed, `the scheduler never removed ${victim}`).toBeDefined();
      expect(removed?.time).toBeLessThan(Number(line?.[2]));
      // The Deployment brings a third worker back, and it registers with the scheduler.
      await expect
        .poll(
          async () =>
            (await dashboardWorkers())
              .map((w) => w.name)
              .filter((n) => n !== victim)
              .sort(),
          { timeout: 150_000, interval: 500 },
        )
        .toHaveLength(3);
      const after = await workerPods();
      expect(after).toHaveLength(3);
      expect(after).not.toContain(victim);
    });

    it("the scheduler pod killed while a cell waits: the cell says so in one sentence, the Deployment replaces it, the workers reconnect and the next cell runs", async () => {
      expect(id).not.toBe("");
      const scheduler = (await podsIn(namespace, "app.kubernetes.io/component=scheduler"))[0]
        ?.metadata.name;
      expect(scheduler).toBeDefined();
      await runCell(2);
      await expect
        .poll(async () => (await dashboardWorkers()).some((w) => w.processing > 0), {
          timeout: 120_000,
          interval: 200,
        })
        .toBe(true);
      const killed = Date.now();
      ok(
        await kubectl([
          "delete",
          "pod",
          "-n",
          namespace,
          scheduler as string,
          "--grace-period=0",
          "--force",
        ]),
        `kill scheduler pod ${scheduler}`,
      );
      await expect.poll(() => outputOf(2), { timeout: 120_000, interval: 500 }).toMatch(/LOST /);
      const lost = (await outputOf(2)).split("\n").filter((l) => l.trim() !== "");
      expect(lost).toHaveLength(1);
      expect(lost[0]).toMatch(
        /^LOST the connection to the scheduler at ws:\/\/\S+ closed.*lost; submit them again$/,
      );
      expect(lost[0]).not.toMatch(/[{}]/);
      // A new scheduler pod; the three workers find it through the Service and register.
      await expect
        .poll(async () => (await dashboardWorkers()).length, { timeout: 180_000, interval: 500 })
        .toBe(3);
      await runCell(3);
      await expect
        .poll(() => outputOf(3), { timeout: 170_000, interval: 500 })
        .toMatch(/NEW 2,3,4/);
      figures.schedulerKillToNextResultMs = Date.now() - killed;
      const after = (await podsIn(namespace, "app.kubernetes.io/component=scheduler")).map(
        (p) => p.metadata.name,
      );
      expect(after).not.toContain(scheduler);
    });

    it('"Download my work" gives a zip with the attendee\'s notebook and its results', async () => {
      expect(id).not.toBe("");
      // Save from JupyterLab (Ctrl+S) and wait until the notebook pod has the outputs on disk.
      await cell(1).click();
      await lab.keyboard.press("Control+s");
      await expect
        .poll(
          () =>
            lab.evaluate(async (sandbox) => {
              const res = await fetch(`/s/${sandbox}/notebook/api/contents/e2e.ipynb`);
              return JSON.stringify(await res.json());
            }, id),
          { timeout: 60_000, interval: 500 },
        )
        .toContain(`DOUBLED ${doubledSum}`);
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.click("#download"),
      ]);
      expect(download.suggestedFilename()).toBe(`launchbay-${id}.zip`);
      const zipPath = join(workDir, "work.zip");
      await download.saveAs(zipPath);
      const files = await zipFiles(zipPath);
      expect(Object.keys(files)).toEqual(expect.arrayContaining(["e2e.ipynb", "01-map.ipynb"]));
      expect(files["e2e.ipynb"]).toContain(`SQUARES ${squaresSum}`);
      expect(files["e2e.ipynb"]).toContain(`DOUBLED ${doubledSum}`);
      // Control: nothing is in the bucket yet; what appears there at expiry is that save.
      expect(await archivedAt()).toBeUndefined();
    });

    it("expiry: the page says so, the notebook pod's archive container puts the work in the bucket, and the namespace is gone", async () => {
      expect(id).not.toBe("");
      // Time is up (the operator's own expiry, level-based: nothing is deleted by hand).
      const expired = Date.now();
      ok(
        await kubectl([
          "patch",
          "sandbox",
          id,
          "-n",
          env().releaseNamespace,
          "--type=merge",
          "-p",
          JSON.stringify({ spec: { expiresAt: new Date(expired).toISOString() } }),
        ]),
        "set the sandbox's expiry to now",
      );
      await page.waitForSelector("#expired:not(.hidden)", { timeout: 120_000 });
      // Its title turns to "Your work was saved" once the sandbox is gone (below).
      expect(await page.textContent("#expired h1")).toMatch(
        /^(Your sandbox has expired|Your work was saved)$/,
      );
      // The kubelet stops the notebook pod; on SIGTERM its work-archive container PUTs the
      // work folder, zipped, to the bucket.
      await expect.poll(archivedAt, { timeout: 150_000, interval: 250 }).toBeDefined();
      figures.expiryToArchivedMs = Date.now() - expired;
      const gone = await kubectl([
        "wait",
        "--for=delete",
        `namespace/${namespace}`,
        "--timeout=150s",
      ]);
      expect(gone.code, gone.stderr).toBe(0);
      figures.expiryToGoneMs = Date.now() - expired;
      const left = await kubectl([
        "get",
        "namespace",
        namespace,
        "--ignore-not-found",
        "-o",
        "name",
      ]);
      expect(left.stdout.trim()).toBe("");
      const sandboxLeft = await kubectl([
        "get",
        "sandbox",
        id,
        "-n",
        env().releaseNamespace,
        "--ignore-not-found",
        "-o",
        "name",
      ]);
      expect(sandboxLeft.stdout.trim()).toBe("");
      // The attendee's notebook, as saved, is the archive in the bucket.
      const object = await (s3 as S3Client).send(
        new GetObjectCommand({ Bucket: env().archive.store.bucket, Key: objectKey }),
      );
      const archivePath = join(workDir, "archived.zip");
      await writeFile(
        archivePath,
        await (
          object.Body as { transformToByteArray(): Promise<Uint8Array> }
        ).transformToByteArray(),
      );
      const files = await zipFiles(archivePath);
      expect(Object.keys(files)).toEqual(expect.arrayContaining(["e2e.ipynb", "01-map.ipynb"]));
      expect(files["e2e.ipynb"]).toContain(`SQUARES ${squaresSum}`);
      expect(files["e2e.ipynb"]).toContain(`DOUBLED ${doubledSum}`);
    }, 360_000);

    it('after expiry, the page\'s "Download my work" serves the archive from the bucket', async () => {
      expect(objectKey).not.toBe("");
      await page.waitForSelector("#saved-download:not(.hidden)", { timeout: 60_000 });
      expect(await page.textContent("#expired h1")).toBe("Your work was saved");
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.click("#saved-download"),
      ]);
      expect(download.suggestedFilename()).toBe("launchbay-saved-work.zip");
      const zipPath = join(workDir, "saved-work.zip");
      await download.saveAs(zipPath);
      const files = await zipFiles(zipPath);
      expect(Object.keys(files)).toEqual(expect.arrayContaining(["e2e.ipynb", "01-map.ipynb"]));
      expect(files["e2e.ipynb"]).toContain(`DOUBLED ${doubledSum}`);
    });

    it('"Start a new sandbox with my work": the archive is put back into the new sandbox\'s notebook', async () => {
      expect(objectKey).not.toBe("");
      const previous = id;
      await lab.close();
      const relaunched = Date.now();
      await page.click("#relaunch");
      await page.waitForURL(
        (url) => /^\/s\/sb-[a-z2-7]{20}\/$/.test(url.pathname) && !url.pathname.includes(previous),
        { timeout: 240_000 },
      );
      id = new URL(page.url()).pathname.split("/")[2] as string;
      await page.waitForSelector("#open:not(.hidden)", { timeout: 60_000 });
      const [opened] = await Promise.all([context.waitForEvent("page"), page.click("#open")]);
      lab = opened;
      await lab.waitForURL(`http://${id}.${sandboxDomain}/s/${id}/notebook/lab/tree/01-map.ipynb`, {
        timeout: 60_000,
      });
      // The restored notebook, read through the new sandbox's origin (Jupyter's contents API).
      await expect
        .poll(
          () =>
            lab.evaluate(async (sandbox) => {
              const res = await fetch(`/s/${sandbox}/notebook/api/contents/e2e.ipynb`);
              return res.ok ? JSON.stringify(await res.json()) : `HTTP ${res.status}`;
            }, id),
          { timeout: 120_000, interval: 500 },
        )
        .toContain(`DOUBLED ${doubledSum}`);
      figures.relaunchToRestoredMs = Date.now() - relaunched;
      // Frees the node for the tests after this one (its work is archived again on the way).
      const sandbox = await getJson<{ status?: { namespace?: string } }>(
        "get",
        "sandbox",
        id,
        "-n",
        env().releaseNamespace,
      );
      ok(
        await kubectl([
          "delete",
          "sandbox",
          id,
          "-n",
          env().releaseNamespace,
          "--wait=true",
          "--timeout=150s",
        ]),
        "delete the relaunched sandbox",
      );
      const gone = await kubectl([
        "wait",
        "--for=delete",
        `namespace/${sandbox.status?.namespace}`,
        "--timeout=150s",
      ]);
      expect(gone.code, gone.stderr).toBe(0);
    }, 480_000);
  });
}
