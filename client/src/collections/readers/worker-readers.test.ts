/**
 * The worker-side readers on real files (no cluster): globs, CSV edge cases, errors that
 * name the file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CsvReadOptions,
  csvSources,
  DataSourceError,
  listSources,
  readCsvPartition,
  readTextPartition,
} from "./worker-readers.js";

let dir: string;
const CSV: CsvReadOptions = { delimiter: ",", header: true, cast: true };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lb-readers-"));
  mkdirSync(join(dir, "sub"));
  for (const name of ["b.csv", "a.csv", "sub/c.csv", "notes.txt"])
    writeFileSync(join(dir, name), "x\n1\n");
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("worker readers", () => {
  it("expands globs sorted, keeps URLs and plain paths in order, and lists a file once", async () => {
    expect(await listSources([join(dir, "*.csv")])).toEqual([
      join(dir, "a.csv"),
      join(dir, "b.csv"),
    ]);
    expect(
      await listSources([
        "https://example.org/x.csv",
        join(dir, "**/*.csv"),
        join(dir, "a.csv"),
        join(dir, "notes.txt"),
      ]),
    ).toEqual([
      "https://example.org/x.csv",
      join(dir, "a.csv"),
      join(dir, "b.csv"),
      join(dir, "sub/c.csv"),
      join(dir, "notes.txt"),
    ]);
  });

  it("names a missing file, a folder and a glob without matches", async () => {
    await expect(listSources([join(dir, "zzz.csv")])).rejects.toThrow(DataSourceError);
    await expect(listSources([join(dir, "zzz.csv")])).rejects.toThrow(
      new RegExp(`^file ${join(dir, "zzz.csv")} does not exist on worker`),
    );
    await expect(listSources([join(dir, "sub")])).rejects.toThrow(
      /is a folder, not a file: name its files with a glob/,
    );
    await expect(listSources([join(dir, "*.parquet")])).rejects.toThrow(/^no file matches/);
  });

  it("parses quoted fields, CRLF line ends, a BOM and casts numbers and empty fields", async () => {
    const file = join(dir, "edge.csv");
    writeFileSync(
      file,
      '\uFEFFid,name,score\r\n1,"Smith, J",3.5\r\n2,"say ""hi""\nthere",\r\n3,007,-1e3\r\n',
    );
    const { columns } = await csvSources([file], CSV);
    expect(columns).toEqual(["id", "name", "score"]);
    expect(await readCsvPartition(file, columns, CSV)).toEqual({
      columns: ["id", "name", "score"],
      length: 3,
      values: [
        [1, 2, 3],
        ["Smith, J", 'say "hi"\nthere', 7],
        [3.5, null, -1000],
      ],
    });
    expect((await readCsvPartition(file, columns, { ...CSV, cast: false })).values[2]).toEqual([
      "3.5",
      "",
      "-1e3",
    ]);
  });

  it("refuses a record with the wrong number of fields, naming the file", async () => {
    const file = join(dir, "ragged.csv");
    writeFileSync(file, "a,b\n1,2\n3\n");
    await expect(readCsvPartition(file, ["a", "b"], CSV)).rejects.toThrow(
      new RegExp(`^${file} is not valid CSV`),
    );
  });

  it("reads lines without their endings, and no empty last line", async () => {
    const file = join(dir, "lines.txt");
    writeFileSync(file, "one\r\ntwo\n\nfour\n");
    expect(await readTextPartition(file)).toEqual(["one", "two", "", "four"]);
    writeFileSync(file, "no newline at the end");
    expect(await readTextPartition(file)).toEqual(["no newline at the end"]);
  });
});
