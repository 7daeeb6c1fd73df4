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
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "../chromium.js";
import { standInCommands } from "./stand-in-commands.js";

// Items 5 and 6 of issue 10, in real Chromium against a real JupyterLab (the sandbox's
// scheduler and worker are stand-ins: no computation happens here): an edit typed in
// JupyterLab and never saved reaches "Download my work" and the archive made at expiry
// through JupyterLab's autosave (30 s, web/jupyter/lab-settings), and the expiry panel
// offers the saved work without covering the page.
const ORGANISER = "organiser-token-work-kept-test-0123";

let app: LauncherApp;
let browser: Browser;
let base: string;
let port: number;
let dir: string;
let sandboxId: string | undefined;

/** The files of a zip, by name (read with Python's zipfile). */
function unzip(path: string): Record<string, string> {
  const script =
    "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({n: z.read(n).decode('utf8','replace') for n in z.namelist()}))";
  return JSON.parse(execFileSync("python3", ["-c", script, path]).toString());
}

/** Downloads through the page's link and returns the zip's `notes.txt`. */
async function downloadNotes(page: Page, selector: string): Promise<string | undefined> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const path = join(dir, `download-${Date.now()}.zip`);
  await file.saveAs(path);
  const files = unzip(path);
  const name = Object.keys(files).find((n) => n === "notes.txt" || n.endsWith("/notes.txt"));
  return name === undefined ? undefined : files[name];
}

beforeAll(async () => {
  if (!existsSync(join(defaultVenvDir(), "bin", "jupyter-lab"))) {
    throw new Error("JupyterLab is missing: run `bash scripts/setup.sh jupyter` first");
  }
  dir = mkdtempSync(join(tmpdir(), "lb-work-kept-"));
  const config = parseConfig({
    organiserToken: ORGANISER,
    logLevel: "warn",
    workshop: { maxSandboxes: 2, workers: 1 },
    local: { sandboxesDir: join(dir, "sandboxes"), archivesDir: join(dir, "archives") },
  });
  const log = pino({ level: "warn" });
  const real = defaultRuntimeCommands(defaultVenvDir());
  app = await buildApp({
    config,
    backend: createLocalBackend(
      config,
      log,
      // The real JupyterLab, and the paths it needs shown to a sandbox user (as root).
      { ...standInCommands(real.jupyter), sharedPaths: real.sharedPaths },
    ),
    loggerInstance: log,
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  port = (app.server.address() as AddressInfo).port;
  base = `http://localhost:${port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  if (sandboxId) expect(pidsWithEnvMarker(SANDBOX_ENV_MARKER, sandboxId)).toEqual([]);
  rmSync(dir, { recursive: true, force: true });
});

describe("an attendee's unsaved work is kept", () => {
  it("autosaves a typed edit into Download and into the archive; the expiry panel offers it without covering the page", async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.click("#launch");
    await page.waitForURL(/\/s\/sb-[a-z2-7]{20}\/$/, { timeout: 180_000 });
    sandboxId = new URL(page.url()).pathname.split("/")[2]!;
    const onDisk = join(dir, "sandboxes", sandboxId, "work", "notes.txt");

    await page.waitForSelector("#open:not(.hidden)");
    const [lab] = await Promise.all([context.waitForEvent("page"), page.click("#open")]);
    await lab.waitForURL(/\/notebook\/lab/);
    const put = await lab.evaluate(async (id) => {
      const res = await fetch(`/s/${id}/notebook/api/contents/notes.txt`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "file", format: "text", content: "first line\n" }),
      });
      return res.status;
    }, sandboxId);
    expect(put).toBe(201);

    // Typed in JupyterLab's editor, never saved by the attendee.
    await lab.goto(
      `http://${sandboxId}.localhost:${port}/s/${sandboxId}/notebook/lab/tree/notes.txt`,
    );
    await lab.click(".jp-FileEditor .cm-content", { timeout: 120_000 });
    await lab.keyboard.press("Control+End");
    await lab.keyboard.type("typed but not saved 1");
    expect(readFileSync(onDisk, "utf8")).not.toContain("typed but not saved 1");
    // Autosave (every 30 s) writes it.
    await expect
      .poll(() => readFileSync(onDisk, "utf8"), { timeout: 90_000, interval: 1000 })
      .toContain("typed but not saved 1");
    expect(await downloadNotes(page, "#download")).toContain("typed but not saved 1");

    await lab.keyboard.type(" and 2");
    await expect
      .poll(() => readFileSync(onDisk, "utf8"), { timeout: 90_000, interval: 1000 })
      .toContain("typed but not saved 1 and 2");

    // The organiser expires the sandbox: the work is archived, the page says so.
    const expire = await fetch(`${base}/api/sandboxes/${sandboxId}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ORGANISER}`, origin: base },
    });
    expect(expire.status).toBe(204);
    await page.waitForSelector("#saved-download:not(.hidden)", { timeout: 60_000 });
    expect(await page.textContent("#expired-title")).toBe("Your work was saved");
    expect(await page.isVisible("#relaunch")).toBe(true);
    expect(await page.textContent("#relaunch")).toBe("Start a new sandbox with my work");
    // The panel covers nothing: the page's own text is still what sits under the pointer.
    const onTop = await page.evaluate(() => {
      const card = document.querySelector("main > .card:not(.expired-panel)")!;
      const box = card.getBoundingClientRect();
      const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
      return card.contains(hit);
    });
    expect(onTop).toBe(true);
    expect(await downloadNotes(page, "#saved-download")).toContain("typed but not saved 1 and 2");
    await context.close();
  }, 600_000);
});
