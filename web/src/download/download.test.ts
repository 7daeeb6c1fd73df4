import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildFixture, type Fixture, newAttendee } from "../testing/app-fixture.js";

// "Download my work" against a stand-in notebook server that speaks the two Jupyter
// endpoints the launcher uses (api/contents for listings, files/ for raw bytes), so the
// listing can claim a size the file does not have. The real Jupyter run is in
// test/src/web/download.test.ts.

interface FakeFile {
  name: string;
  body: Buffer;
  /** What the listing says (defaults to the real size). */
  listedSize?: number;
}

let fx: Fixture | undefined;
let upstream: Server | undefined;
let dir: string | undefined;
afterEach(async () => {
  await fx?.app.close();
  await new Promise((r) => (upstream ? upstream.close(r) : r(undefined)));
  if (dir) rmSync(dir, { recursive: true, force: true });
  fx = upstream = dir = undefined;
});

async function setUp(files: FakeFile[], downloadMaxMib = 200) {
  upstream = createServer((req, res) => {
    if (req.headers.authorization !== "token nb") {
      res.writeHead(403).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url!, "http://x").pathname);
    if (path === "/nb/api/contents/") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          type: "directory",
          content: [
            ...files.map((f) => ({
              name: f.name,
              path: f.name,
              type: "file",
              size: f.listedSize ?? f.body.length,
              last_modified: "2026-03-01T10:00:00Z",
            })),
            { name: ".secret", path: ".secret", type: "file", size: 1 },
          ],
        }),
      );
      return;
    }
    const file = files.find((f) => `/nb/files/${f.name}` === path);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end(file.body);
  });
  await new Promise<void>((r) => upstream!.listen(0, "127.0.0.1", r));
  const port = (upstream.address() as AddressInfo).port;
  fx = await buildFixture({ downloadMaxMib });
  await fx.app.listen({ port: 0, host: "127.0.0.1" });
  const cookie = await newAttendee(fx.app);
  const id = (
    await fx.app.inject({
      method: "POST",
      url: "/api/sandboxes",
      headers: { cookie },
      payload: {},
    })
  ).json().id as string;
  await expect.poll(() => fx!.backend.get(id)).toBeDefined();
  fx.backend.ready(id);
  fx.backend.setUpstream(id, "notebook", {
    baseUrl: new URL(`http://127.0.0.1:${port}/nb/`),
    headers: { authorization: "token nb" },
  });
  const base = `http://127.0.0.1:${(fx.app.server.address() as AddressInfo).port}`;
  return { url: `${base}/api/sandboxes/${id}/download`, cookie };
}

describe("download my work", () => {
  it("streams every file into a zip that Python's zipfile reads back intact", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    const { url, cookie } = await setUp([
      { name: "01-map.ipynb", body: Buffer.from('{"cells":[]}\n') },
      { name: "naïve data.bin", body: big },
      { name: "empty.txt", body: Buffer.alloc(0) },
    ]);
    const res = await fetch(url, { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    dir = mkdtempSync(join(tmpdir(), "lb-dl-"));
    const path = join(dir, "a.zip");
    writeFileSync(path, Buffer.from(await res.arrayBuffer()));
    const script =
      "import zipfile,sys,json\nz=zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps({n:len(z.read(n)) for n in z.namelist()}))";
    const out = JSON.parse(execFileSync("python3", ["-c", script, path]).toString());
    expect(out).toEqual({ "01-map.ipynb": 13, "naïve data.bin": big.length, "empty.txt": 0 });
  });

  it("refuses a download whose listed files exceed the limit before sending anything", async () => {
    const { url, cookie } = await setUp(
      [{ name: "data.bin", body: Buffer.alloc(10), listedSize: 2 * 1024 * 1024 }],
      1,
    );
    const res = await fetch(url, { headers: { cookie } });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("download-too-large");
    expect(body.message).toContain("more than 1 MiB");
  });

  it("cuts the response off when a file outgrows the limit while streaming", async () => {
    // The listing says 10 bytes; the file is 3 MiB by the time it is read.
    const { url, cookie } = await setUp(
      [
        { name: "a.txt", body: Buffer.from("hello") },
        { name: "grows.bin", body: Buffer.alloc(3 * 1024 * 1024, 1), listedSize: 10 },
      ],
      1,
    );
    const res = await fetch(url, { headers: { cookie } });
    expect(res.status).toBe(200); // headers went out before the file grew past the limit
    // The body never completes: a client cannot mistake the truncated zip for a whole one.
    await expect(res.arrayBuffer()).rejects.toThrow();
  });
});
