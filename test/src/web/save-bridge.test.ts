import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildApp,
  createLocalBackend,
  defaultRuntimeCommands,
  defaultVenvDir,
  type LauncherApp,
  parseConfig,
  pidsWithEnvMarker,
  SANDBOX_ENV_MARKER,
} from "@launchbay/web";
import pino from "pino";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../chromium.js";
import { until } from "./sandbox-until.js";
import { standInCommands } from "./stand-in-commands.js";

// Item 6 of issue 10, in real Chromium against a real JupyterLab (stand-in scheduler and
// workers): a notebook edit typed a moment before "Download my work", or before the
// sandbox expires, is in the zip and in the archive because the launcher asks the open
// JupyterLab tab to save first (the save bridge: web/src/http/save-bridge.ts and the
// @launchbay/save-bridge JupyterLab extension in web/jupyter/labextensions). JupyterLab's
// autosave is turned off for the attendee here, so only the bridge can have saved it. The
// control is the same launcher with the bridge off (`saveOpenDocumentsSeconds: 0`): the
// edit is missing from both.

const ORGANISER = "organiser-token-save-bridge-test-0123";
let browser: Browser;
let dir: string;

interface Launcher {
  app: LauncherApp;
  base: string;
  port: number;
  sandboxes: string[];
}

const launchers: Launcher[] = [];

async function startLauncher(name: string, saveOpenDocumentsSeconds?: number): Promise<Launcher> {
  const config = parseConfig({
    organiserToken: ORGANISER,
    logLevel: "warn",
    workshop: { maxSandboxes: 1, workers: 1 },
    ...(saveOpenDocumentsSeconds === undefined ? {} : { saveOpenDocumentsSeconds }),
    local: {
      sandboxesDir: join(dir, name, "sandboxes"),
      archivesDir: join(dir, name, "archives"),
    },
  });
  const log = pino({ level: "warn" });
  const real = defaultRuntimeCommands(defaultVenvDir());
  const app = await buildApp({
    config,
    backend: createLocalBackend(config, log, {
      ...standInCommands(real.jupyter),
      sharedPaths: real.sharedPaths,
    }),
    loggerInstance: log,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const launcher = { app, base: `http://localhost:${port}`, port, sandboxes: [] };
  launchers.push(launcher);
  return launcher;
}

/** The files of a zip, by name (read with Python's zipfile). */
function unzip(path: string): Record<string, string> {
  const script =
    "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({n: z.read(n).decode('utf8','replace') for n in z.namelist()}))";
  return JSON.parse(execFileSync("python3", ["-c", script, path]).toString());
}

/** Downloads through the page's link; returns the zip's `01-map.ipynb`. */
async function downloadNotebook(page: Page, selector: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const path = join(dir, `download-${Date.now()}.zip`);
  await file.saveAs(path);
  const files = unzip(path);
  const name = Object.keys(files).find((n) => n === "01-map.ipynb" || n.endsWith("/01-map.ipynb"));
  expect(name, Object.keys(files).join(", ")).toBeDefined();
  return files[name!]!;
}

/**
 * Launches a sandbox from the launch page, turns the attendee's JupyterLab autosave off
 * and opens the tutorial's first notebook; resolves once its save bridge is connected.
 */
async function openNotebook(launcher: Launcher, context: BrowserContext) {
  const page = await context.newPage();
  await page.goto(`${launcher.base}/`);
  await page.click("#launch");
  await page.waitForURL(/\/s\/sb-[a-z2-7]{20}\/$/, { timeout: 180_000 });
  const id = new URL(page.url()).pathname.split("/")[2]!;
  launcher.sandboxes.push(id);
  await page.waitForSelector("#open:not(.hidden)");
  const [lab] = await Promise.all([context.waitForEvent("page"), page.click("#open")]);
  await lab.waitForURL(/\/notebook\/lab/);
  const status = await lab.evaluate(async (sandbox) => {
    const res = await fetch(
      `/s/${sandbox}/notebook/lab/api/settings/@jupyterlab/docmanager-extension:plugin`,
      {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ raw: JSON.stringify({ autosave: false }) }),
      },
    );
    return res.status;
  }, id);
  expect(status).toBe(204);
  await lab.goto(`http://${id}.localhost:${launcher.port}/s/${id}/notebook/lab/tree/01-map.ipynb`);
  await lab.waitForSelector('body[data-launchbay-save-bridge="connected"]', {
    state: "attached",
    timeout: 120_000,
  });
  await lab.click(".jp-Notebook .jp-CodeCell .cm-content", { timeout: 120_000 });
  const onDisk = join(dir, launcher === launchers[0] ? "on" : "off", "sandboxes", id, "work");
  return { page, lab, id, notebook: join(onDisk, "01-map.ipynb") };
}

/** Types at the end of the focused cell; the notebook on disk does not have it yet. */
async function typeUnsaved(lab: Page, notebookFile: string, text: string): Promise<void> {
  await lab.keyboard.press("Control+End");
  await lab.keyboard.type(` ${text}`);
  await lab.waitForSelector(`.jp-Notebook .cm-content:has-text("${text}")`);
  expect(readFileSync(notebookFile, "utf8")).not.toContain(text);
}

beforeAll(async () => {
  if (!existsSync(join(defaultVenvDir(), "bin", "jupyter-lab"))) {
    throw new Error("JupyterLab is missing: run `bash scripts/setup.sh jupyter` first");
  }
  dir = mkdtempSync(join(tmpdir(), "lb-save-bridge-"));
  await startLauncher("on");
  await startLauncher("off", 0);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  for (const launcher of launchers) {
    await launcher.app.close();
    for (const id of launcher.sandboxes)
      expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, id)).toEqual([]);
  }
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Types one edit and downloads at once, types another and lets the sandbox expire at
 * once; resolves with whether each is in the zip and in the archive.
 */
async function editDownloadExpire(launcher: Launcher) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const { page, lab, id, notebook } = await openNotebook(launcher, context);
  await typeUnsaved(lab, notebook, "typedBeforeDownload4817");
  const downloaded = await downloadNotebook(page, "#download");

  await typeUnsaved(lab, notebook, "typedBeforeExpiry5923");
  // The sandbox's time runs out now (the backend's own expiry, as at the end of a workshop).
  const backend = launcher.app.launcher.backend;
  await backend.extend(id, Date.now() - 1);
  await until(backend, id, (s) => s === undefined);
  await page.waitForSelector("#saved-download:not(.hidden)", { timeout: 60_000 });
  const archived = await downloadNotebook(page, "#saved-download");
  await context.close();
  return {
    inDownload: downloaded.includes("typedBeforeDownload4817"),
    inArchive: archived.includes("typedBeforeExpiry5923"),
    earlierInArchive: archived.includes("typedBeforeDownload4817"),
  };
}

/** Types an edit and has the organiser Expire the sandbox at once; whether the archive has it. */
async function editExpireAsOrganiser(launcher: Launcher) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  const { page, lab, id, notebook } = await openNotebook(launcher, context);
  await typeUnsaved(lab, notebook, "typedBeforeExpire6131");
  const expire = await fetch(`${launcher.base}/api/admin/sandboxes/${id}`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${ORGANISER}`, origin: launcher.base },
  });
  expect(expire.status).toBe(204);
  await page.waitForSelector("#saved-download:not(.hidden)", { timeout: 60_000 });
  const archived = await downloadNotebook(page, "#saved-download");
  await context.close();
  return archived.includes("typedBeforeExpire6131");
}

describe("the save bridge: JupyterLab saves every open document before Download and expiry", () => {
  it("an edit typed a moment before Download, and one typed a moment before expiry, are kept", async () => {
    const kept = await editDownloadExpire(launchers[0]!);
    console.log(`save bridge on: ${JSON.stringify(kept)}`);
    expect(kept).toEqual({ inDownload: true, inArchive: true, earlierInArchive: true });
  }, 600_000);

  it("control: with the bridge off (saveOpenDocumentsSeconds 0) both edits are missing", async () => {
    const kept = await editDownloadExpire(launchers[1]!);
    console.log(`save bridge off: ${JSON.stringify(kept)}`);
    expect(kept).toEqual({ inDownload: false, inArchive: false, earlierInArchive: false });
  }, 600_000);

  it("an edit typed a moment before the organiser's Expire is in the archive", async () => {
    expect(await editExpireAsOrganiser(launchers[0]!)).toBe(true);
  }, 600_000);
});
