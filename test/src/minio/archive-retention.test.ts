import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { archiveKey, S3Store, sweepArchives } from "@launchbay/archive";
import { S3WorkArchive } from "@launchbay/web";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZipFile } from "yazl";
import { type MinioServer, startMinio } from "./minio-server.js";

const DAY = 86_400_000;
const prefix = "archives/";
let minio: MinioServer;
let store: S3Store;
let cache: string;

beforeAll(async () => {
  minio = await startMinio({ prefix });
  store = new S3Store(minio.store);
  cache = await mkdtemp(join(tmpdir(), "launchbay-retention-"));
});

afterAll(async () => {
  store?.destroy();
  await minio?.stop();
  if (cache) await rm(cache, { recursive: true, force: true });
});

async function put(workshop: string, owner: string): Promise<string> {
  const key = archiveKey(prefix, { namespace: "events", workshop }, owner);
  const zip = new ZipFile();
  zip.addBuffer(Buffer.from("work\n"), "notebook.ipynb");
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  const res = await fetch(await store.presignPut(key, 60), {
    method: "PUT",
    body: Buffer.concat(chunks),
  });
  expect(res.status).toBe(200);
  return key;
}

const retentionDays: Record<string, number> = { week: 7, month: 30, none: 0 };
const lookup = (_ns: string, workshop: string) => (retentionDays[workshop] ?? 7) * DAY;

describe("archive retention against MinIO", () => {
  it("deletes archives past their workshop's retention, all of a workshop with 0, and keeps the rest", async () => {
    const week = await put("week", "a");
    const month = await put("month", "b");
    const none = await put("none", "c");
    const unknown = await put("deleted-workshop", "d");
    // Six days on: only the retention-0 workshop's archive goes.
    expect(await sweepArchives(store, lookup, Date.now() + 6 * DAY)).toEqual([none]);
    // Eight days on: past 7 days (the week's and the default for a workshop that is gone).
    expect((await sweepArchives(store, lookup, Date.now() + 8 * DAY)).sort()).toEqual(
      [unknown, week].sort(),
    );
    // Control: the 30-day workshop's archive is still there, and a sweep now deletes nothing.
    expect(await store.head(month)).toBeDefined();
    expect(await sweepArchives(store, lookup, Date.now())).toEqual([]);
  });

  it("the launcher offers an archive only within the retention (and never with 0)", async () => {
    await put("week", "alice");
    const log = pino({ level: "silent" });
    const at = (now: number, retentionMs = 7 * DAY) =>
      new S3WorkArchive({
        store,
        namespace: "events",
        workshop: "week",
        retentionMs,
        cacheDir: join(cache, "launcher"),
        log,
        now: () => now,
      });
    const fresh = await at(Date.now()).find("alice");
    expect(fresh?.files.map((f) => f.path)).toEqual(["notebook.ipynb"]);
    expect(await at(Date.now() + 8 * DAY).find("alice")).toBeUndefined();
    expect(await at(Date.now(), 0).find("alice")).toBeUndefined();
    expect(await at(Date.now()).find("bob")).toBeUndefined();
  });
});
