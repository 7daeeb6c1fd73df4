import {
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ArchiveError, restoreWork, S3Store, saveWork, unzipInto } from "@launchbay/archive";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZipFile } from "yazl";
import { type MinioServer, startMinio } from "./minio-server.js";

let minio: MinioServer;
let store: S3Store;
let dir: string;

beforeAll(async () => {
  minio = await startMinio();
  store = new S3Store(minio.store);
  dir = await mkdtemp(join(tmpdir(), "launchbay-transfer-"));
});

afterAll(async () => {
  store?.destroy();
  await minio?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function zipBuffer(build: (zip: ZipFile) => void): Promise<Buffer> {
  const zip = new ZipFile();
  build(zip);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Uploads raw bytes through a presigned PUT, as a pod holding that URL could. */
async function putRaw(key: string, body: Buffer): Promise<Response> {
  return fetch(await store.presignPut(key, 300), { method: "PUT", body });
}

describe("work archive save and restore against MinIO", () => {
  it("zips a folder, PUTs it to a presigned URL, GETs and unpacks it elsewhere", async () => {
    const work = join(dir, "work");
    await mkdir(join(work, "sub", "deeper"), { recursive: true });
    await writeFile(join(work, "notebook.ipynb"), '{"cells": []}\n');
    await writeFile(join(work, "sub", "deeper", "data.csv"), "a,b\n1,2\n");
    await writeFile(join(work, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
    await symlink("/etc/passwd", join(work, "link-out"));
    const key = "archives/ns/ws/owner-a.zip";
    const saved = await saveWork(work, await store.presignPut(key, 300));
    expect(saved.files).toBe(3);
    expect((await store.head(key))?.size).toBe(saved.bytes);

    const next = join(dir, "next");
    await mkdir(next);
    await writeFile(join(next, "notebook.ipynb"), "tutorial copy\n");
    const restored = await restoreWork(next, await store.presignGet(key, 300));
    expect(restored).toEqual({ files: 3, bytes: expect.any(Number) });
    expect(await readFile(join(next, "notebook.ipynb"), "utf8")).toBe('{"cells": []}\n');
    expect(await readFile(join(next, "sub", "deeper", "data.csv"), "utf8")).toBe("a,b\n1,2\n");
    expect((await lstat(join(next, "run.sh"))).mode & 0o111).not.toBe(0);
    // The symlink was never archived, so none is restored.
    await expect(lstat(join(next, "link-out"))).rejects.toThrow(/ENOENT/);
  });

  it("answers false when there is no archive behind the GET URL", async () => {
    const empty = join(dir, "empty");
    await mkdir(empty);
    expect(await restoreWork(empty, await store.presignGet("archives/ns/ws/none.zip", 300))).toBe(
      false,
    );
    expect(await readdir(empty)).toEqual([]);
  });

  it("refuses a symbolic link entry in a malicious archive, writing nothing", async () => {
    const zip = await zipBuffer((z) => {
      z.addBuffer(Buffer.from("ok\n"), "fine.txt");
      // A symlink entry (S_IFLNK) whose content is the link target.
      z.addBuffer(Buffer.from("/etc"), "escape", { mode: 0o120777 });
    });
    const key = "archives/ns/ws/symlink.zip";
    expect((await putRaw(key, zip)).ok).toBe(true);
    const target = join(dir, "symlink-target");
    await mkdir(target);
    const error = await restoreWork(target, await store.presignGet(key, 300)).catch((e) => e);
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as ArchiveError).code).toBe("unsafe-entry");
    expect((error as Error).message).toMatch(/"escape".*symbolic link/);
    expect(await readdir(target)).toEqual([]);
  });

  it("refuses a path traversal entry in a malicious archive, writing nothing outside or inside", async () => {
    // yazl refuses "..", so write a same-length name and patch it in both headers.
    const zip = await zipBuffer((z) => {
      z.addBuffer(Buffer.from("pwned\n"), "zz/evil.txt");
    });
    const patched = Buffer.from(
      zip.toString("latin1").replaceAll("zz/evil.txt", "../evil.txt"),
      "latin1",
    );
    const key = "archives/ns/ws/traversal.zip";
    expect((await putRaw(key, patched)).ok).toBe(true);
    const parent = join(dir, "traversal");
    const target = join(parent, "work");
    await mkdir(target, { recursive: true });
    await expect(restoreWork(target, await store.presignGet(key, 300))).rejects.toThrow(
      /evil\.txt/,
    );
    expect(await readdir(parent)).toEqual(["work"]);
    expect(await readdir(target)).toEqual([]);
  });

  it("refuses to write through a symlinked folder already in the work folder", async () => {
    const outside = join(dir, "outside");
    const target = join(dir, "linked");
    await mkdir(outside);
    await mkdir(target);
    await symlink(outside, join(target, "sub"));
    const file = join(dir, "through-link.zip");
    await writeFile(
      file,
      await zipBuffer((z) => {
        z.addBuffer(Buffer.from("x\n"), "sub/x.txt");
      }),
    );
    await expect(unzipInto(file, target)).rejects.toThrow(/leads outside the work folder/);
    expect(await readdir(outside)).toEqual([]);
  });

  it("control: a presigned PUT URL cannot be turned into a write of another key", async () => {
    const url = new URL(await store.presignPut("archives/ns/ws/mine.zip", 300));
    url.pathname = url.pathname.replace("mine.zip", "theirs.zip");
    const forged = await fetch(url, { method: "PUT", body: "x" });
    expect(forged.status).toBe(403);
    expect(await store.head("archives/ns/ws/theirs.zip")).toBeUndefined();
    const honest = await putRaw("archives/ns/ws/mine.zip", Buffer.from("y"));
    expect(honest.status).toBe(200);
  });
});

const BIN = fileURLToPath(
  new URL("../../../archive/bin/launchbay-work-archive.js", import.meta.url),
);

/** Runs the archive container's command as a process; resolves log lines as they come. */
function startKeeper(args: string[]) {
  const child = spawn(process.execPath, [BIN, "keep", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: { match: RegExp; resolve: () => void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter(Boolean)) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.match.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    lines,
    exited,
    waitFor: (match: RegExp) =>
      lines.some((l) => match.test(l))
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ match, resolve })),
  };
}

describe("the archive container (launchbay-work-archive keep) against MinIO", () => {
  it("restores once the GET URL appears (a claimed warm sandbox) and saves on SIGTERM", async () => {
    const work = join(dir, "keep-work");
    const urls = join(dir, "keep-urls");
    await mkdir(work);
    await mkdir(urls);
    await writeFile(join(work, "tutorial.ipynb"), "tutorial\n");
    const previous = join(dir, "keep-previous");
    await mkdir(previous);
    await writeFile(join(previous, "mine.ipynb"), "from last time\n");
    const key = "archives/ns/ws/keeper.zip";
    await saveWork(previous, await store.presignPut(key, 300));

    const keeper = startKeeper([
      "--dir",
      work,
      "--urls",
      urls,
      "--marker",
      join(dir, "keep-marker"),
      "--poll",
      "50",
    ]);
    await keeper.waitFor(/Keeping/);
    // Unclaimed: no URLs yet. The Secret's files appear together, as the kubelet projects
    // them (an atomic swap of the folder's ..data link): written aside, then renamed in.
    const staged = join(dir, "keep-urls-staged");
    await mkdir(staged);
    await writeFile(join(staged, "put-url"), await store.presignPut(key, 300));
    await writeFile(join(staged, "get-url"), await store.presignGet(key, 300));
    await rm(urls, { recursive: true });
    await rename(staged, urls);
    await keeper.waitFor(/Restored archived work: 1 files/);
    expect(await readFile(join(work, "mine.ipynb"), "utf8")).toBe("from last time\n");

    await writeFile(join(work, "new.ipynb"), "typed during the workshop\n");
    // The namespace is being deleted: its Secret goes, and the kubelet may empty the volume
    // before the container is stopped. The URL seen earlier is still used.
    await rm(join(urls, "put-url"));
    await rm(join(urls, "get-url"));
    keeper.child.kill("SIGTERM");
    expect(await keeper.exited).toBe(0);
    expect(keeper.lines.join("\n")).toMatch(/Archived work: 3 files/);
    const check = join(dir, "keep-check");
    await mkdir(check);
    await restoreWork(check, await store.presignGet(key, 300));
    expect((await readdir(check)).sort()).toEqual(["mine.ipynb", "new.ipynb", "tutorial.ipynb"]);
  });

  it("control: an unclaimed sandbox (no URLs) archives nothing on SIGTERM and exits cleanly", async () => {
    const work = join(dir, "idle-work");
    const urls = join(dir, "idle-urls");
    await mkdir(work);
    await mkdir(urls);
    const keeper = startKeeper(["--dir", work, "--urls", urls, "--marker", join(dir, "idle-m")]);
    await keeper.waitFor(/Keeping/);
    keeper.child.kill("SIGTERM");
    expect(await keeper.exited).toBe(0);
    expect(keeper.lines.join("\n")).toMatch(/Not archiving/);
  });
});
