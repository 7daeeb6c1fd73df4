/**
 * Data loaded on the workers (Table.readCsv, Bag.readText, Table.fromFutures,
 * Bag.toTable) against a real LocalCluster: files in a temp folder the workers share with
 * this process, and the same files over HTTP from a loopback server this test starts.
 * Results equal the in-memory computation over the records the files were written from.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "../client.js";
import { LocalCluster } from "../cluster/local-cluster.js";
import { Bag } from "./bag.js";
import { CollectionError } from "./errors.js";
import { Table } from "./table.js";
import { seededRandom } from "./testing/seeded-random.js";

let cluster: LocalCluster;
let client: Client;
let dir: string;
let server: Server;
let baseUrl: string;
const served = new Map<string, string>();
let requests = 0;

interface Flight {
  id: number;
  origin: string;
  delay: number | null;
  note: string;
}

const ORIGINS = ["SFO", "JFK", "LAX", "ORD"];
const NOTES = ["", "on time", 'said "late"', "gate, B12", "multi\nline"];

/** Seeded records, split into `files` chunks of uneven size. */
function flights(seed: number, n: number, files: number): Flight[][] {
  const random = seededRandom(seed);
  const rows: Flight[] = Array.from({ length: n }, (_, id) => ({
    id,
    origin: ORIGINS[Math.floor(random() * ORIGINS.length)]!,
    delay: random() < 0.1 ? null : Math.round((random() * 120 - 20) * 10) / 10,
    note: NOTES[Math.floor(random() * NOTES.length)]!,
  }));
  const chunks: Flight[][] = Array.from({ length: files }, () => []);
  for (const row of rows) chunks[Math.floor(random() * files)]!.push(row);
  return chunks;
}

function csvField(value: unknown): string {
  const text = value === null ? "" : String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function toCsv(rows: Flight[], columns = ["id", "origin", "delay", "note"]): string {
  const lines = [columns.join(",")];
  for (const row of rows)
    lines.push(columns.map((c) => csvField(row[c as keyof Flight])).join(","));
  return `${lines.join("\n")}\n`;
}

/** What a CSV cell reads back as: "" (an empty note) is a missing value, like null. */
function asRead(row: Flight): Flight {
  return { ...row, note: (row.note === "" ? null : row.note) as string };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lb-data-sources-"));
  server = createServer((req, res) => {
    requests++;
    const body = served.get(req.url ?? "");
    if (body === undefined) {
      res.writeHead(404).end("not here");
      return;
    }
    res.writeHead(200, { "content-type": "text/csv" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cluster = await LocalCluster.start({ workers: 2, threadsPerWorker: 1 });
  client = await cluster.client({ name: "collections-data-sources-e2e" });
}, 60_000);

afterAll(async () => {
  await cluster?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe("Table.readCsv on a LocalCluster", () => {
  it("reads a glob of seeded CSV files, one partition per file, equal to the records in memory", async () => {
    for (const seed of [1, 2, 3]) {
      const chunks = flights(seed, 150 + seed * 37, 3 + seed);
      const folder = join(dir, `glob-${seed}`);
      mkdirSync(folder);
      for (const [i, rows] of chunks.entries()) {
        writeFileSync(join(folder, `part-${String(i).padStart(2, "0")}.csv`), toCsv(rows));
      }
      const table = await Table.readCsv<Flight>(client, join(folder, "*.csv"));
      expect(table.npartitions).toBe(chunks.length);
      expect(table.columns).toEqual(["id", "origin", "delay", "note"]);
      const all = chunks.flat();
      expect(await table.compute()).toEqual(all.map(asRead));
      // A computation on top runs on the workers, like the same one in memory.
      const late = await table
        .filter((r: Flight) => (r.delay ?? 0) > 30)
        .count()
        .compute();
      expect(late).toBe(all.filter((r) => (r.delay ?? 0) > 30).length);
    }
  });

  it("reads http(s) URLs on the workers, from a loopback server", async () => {
    const chunks = flights(9, 120, 3);
    const urls = chunks.map((rows, i) => {
      served.set(`/flights-${i}.csv`, toCsv(rows));
      return `${baseUrl}/flights-${i}.csv`;
    });
    const before = requests;
    const table = await Table.readCsv<Flight>(client, urls);
    expect(await table.compute()).toEqual(chunks.flat().map(asRead));
    expect(requests - before).toBeGreaterThanOrEqual(urls.length);
  });

  it("takes relative paths from the notebook's folder, and names, delimiter and cast options", async () => {
    const file = join(dir, "semi.csv");
    writeFileSync(file, "1;a;007\n2;;3.5\n");
    const table = await Table.readCsv(client, relative(process.cwd(), file), {
      header: false,
      columns: ["n", "s", "code"],
      delimiter: ";",
    });
    expect(await table.compute()).toEqual([
      { n: 1, s: "a", code: 7 },
      { n: 2, s: null, code: 3.5 },
    ]);
    const strings = await Table.readCsv(client, file, {
      header: false,
      columns: ["n", "s", "code"],
      delimiter: ";",
      cast: false,
    });
    expect(await strings.compute()).toEqual([
      { n: "1", s: "a", code: "007" },
      { n: "2", s: "", code: "3.5" },
    ]);
  });

  it("fails with read-failed naming a missing file, a glob with no match and a URL that answers 404", async () => {
    const missing = join(dir, "nope", "missing.csv");
    await expect(Table.readCsv(client, missing)).rejects.toThrow(CollectionError);
    await expect(Table.readCsv(client, missing)).rejects.toMatchObject({
      code: "read-failed",
      message: expect.stringMatching(
        new RegExp(
          `^file ${missing.replaceAll("/", "\\/")} does not exist on worker .*folder the workers can read`,
        ),
      ),
    });
    await expect(Table.readCsv(client, join(dir, "nope", "*.csv"))).rejects.toMatchObject({
      code: "read-failed",
      message: expect.stringMatching(/^no file matches .*nope\/\*\.csv on worker/),
    });
    // The URL is checked only when its partition is read: at compute().
    const table = await Table.readCsv(client, `${baseUrl}/gone.csv`, {
      header: false,
      columns: ["a"],
    });
    await expect(table.compute()).rejects.toMatchObject({
      code: "read-failed",
      message: expect.stringMatching(
        /^GET http:\/\/127\.0\.0\.1:\d+\/gone\.csv from worker .* answered 404/,
      ),
    });
  });

  it("refuses files whose header differs from the first file's, naming the file", async () => {
    const folder = join(dir, "mixed");
    mkdirSync(folder);
    writeFileSync(join(folder, "a.csv"), "x,y\n1,2\n");
    writeFileSync(join(folder, "b.csv"), "x,z\n3,4\n");
    const table = await Table.readCsv(client, join(folder, "*.csv"));
    await expect(table.compute()).rejects.toMatchObject({
      code: "read-failed",
      message: expect.stringContaining(`${join(folder, "b.csv")} has the columns ["x","z"]`),
    });
  });

  it("refuses bad arguments before anything runs", async () => {
    await expect(Table.readCsv(client, [])).rejects.toMatchObject({ code: "invalid-argument" });
    await expect(Table.readCsv(client, "a.csv", { header: false })).rejects.toThrow(
      /need their column names/,
    );
    await expect(
      Table.readCsv(client, "a.csv", { delimiter: ";;" } as never),
    ).rejects.toMatchObject({ code: "invalid-argument" });
  });
});

describe("Bag.readText, Table.fromFutures and Bag.toTable on a LocalCluster", () => {
  it("reads the lines of text files and URLs, one partition per file", async () => {
    const random = seededRandom(4);
    const texts = Array.from({ length: 4 }, (_, f) =>
      Array.from({ length: 20 + f * 7 }, () =>
        Array.from(
          { length: 1 + Math.floor(random() * 6) },
          () => ["the", "fox", "dog", "lazy"][Math.floor(random() * 4)],
        ).join(" "),
      ),
    );
    const folder = join(dir, "text");
    mkdirSync(folder);
    for (const [i, lines] of texts.slice(0, 3).entries()) {
      writeFileSync(join(folder, `t${i}.txt`), `${lines.join("\n")}\n`);
    }
    served.set("/t3.txt", lines3(texts[3]!));
    const bag = await Bag.readText(client, [join(folder, "t*.txt"), `${baseUrl}/t3.txt`]);
    expect(bag.npartitions).toBe(4);
    expect(await bag.compute()).toEqual(texts.flat());
    const counts = new Map(
      await bag
        .flatMap((l: string) => l.split(" "))
        .frequencies()
        .compute(),
    );
    const expected = new Map<string, number>();
    for (const w of texts.flat().flatMap((l) => l.split(" ")))
      expected.set(w, (expected.get(w) ?? 0) + 1);
    expect(counts).toEqual(expected);
  });

  it("builds a table from futures of records, and a bag of records as a table, like fromRecords", async () => {
    const chunks = flights(21, 90, 3);
    const futures = chunks.map((rows) => client.submit((r: Flight[]) => r, rows));
    const fromFutures = await Table.fromFutures(futures);
    const reference = Table.fromRecords(client, chunks.flat());
    expect(fromFutures.columns).toEqual(reference.columns);
    expect(fromFutures.npartitions).toBe(3);
    expect(await fromFutures.compute()).toEqual(await reference.compute());

    const bag = Bag.from(client, chunks.flat(), { npartitions: 4 }).map((r: Flight) =>
      r.delay === null ? { id: r.id, origin: r.origin } : r,
    );
    const records = chunks
      .flat()
      .map((r) => (r.delay === null ? { id: r.id, origin: r.origin } : r));
    const table = await bag.toTable();
    const expectedTable = Table.fromRecords(client, records);
    expect(table.columns).toEqual(expectedTable.columns);
    expect(
      await table
        .groupBy("origin")
        .agg({ n: ["id", "count"] })
        .compute(),
    ).toEqual(
      await expectedTable
        .groupBy("origin")
        .agg({ n: ["id", "count"] })
        .compute(),
    );
    const lazy = await bag.toTable({ columns: ["origin", "id"] });
    expect(await lazy.compute()).toEqual(records.map((r) => ({ origin: r.origin, id: r.id })));
  });

  it("refuses futures that do not hold arrays of records, saying which partition", async () => {
    const futures = [client.submit(() => [{ a: 1 }]), client.submit(() => [1, 2])];
    await expect(Table.fromFutures(futures as never)).rejects.toThrow(
      /partition 1, item 0 is not a record/,
    );
    await expect(Table.fromFutures([])).rejects.toMatchObject({ code: "invalid-argument" });
    await expect(Bag.from(client, [], { npartitions: 1 }).toTable()).rejects.toThrow(
      /got no columns.*name the columns with \{ columns/,
    );
    expect(
      await (await Bag.from(client, [], { npartitions: 1 }).toTable({ columns: ["a"] })).compute(),
    ).toEqual([]);
  });
});

function lines3(lines: string[]): string {
  return `${lines.join("\r\n")}\r\n`;
}
