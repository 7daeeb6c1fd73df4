/**
 * The readers that run ON THE WORKERS for `Table.readCsv` and `Bag.readText`. This file is
 * not imported by the client: data-sources.ts bundles it (with csv-parse and tinyglobby)
 * into a module with `client.uploadModule`, and collection steps call its exports, so a
 * worker reads its own files (local paths where the filesystem is shared, http(s) URLs it
 * fetches itself) and the data never passes through the notebook.
 */
import { open, readFile, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { parse } from "csv-parse/sync";
import { glob, isDynamicPattern } from "tinyglobby";

/** Options of Table.readCsv, as checked on the client. */
export interface CsvReadOptions {
  delimiter: string;
  /** The files start with a header line. */
  header: boolean;
  /** Column names given by the user (replace the header, or name headerless files). */
  columns?: string[];
  /** Numbers as numbers and empty fields as null (else every field is a string). */
  cast: boolean;
}

/** A columnar partition, as the Table kernels expect (table-kernels.ts). */
export interface CsvPartition {
  columns: string[];
  length: number;
  values: unknown[][];
}

/** Why a file or URL could not be listed or read (the client turns it into code "read-failed"). */
export class DataSourceError extends Error {
  override name = "DataSourceError";
}

const URL_PATTERN = /^https?:\/\//i;
const HEADER_BYTES = 1 << 20;

function where(): string {
  return `worker ${hostname()} (pid ${process.pid}, cwd ${process.cwd()})`;
}

/** The files behind paths, URLs and glob patterns, in order (each pattern's matches sorted). */
export async function listSources(sources: string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    if (!seen.has(file)) {
      seen.add(file);
      out.push(file);
    }
  };
  for (const source of sources) {
    if (URL_PATTERN.test(source)) add(source);
    else if (isDynamicPattern(source)) {
      const matches = await glob(source, {
        absolute: true,
        onlyFiles: true,
        expandDirectories: false,
      });
      if (matches.length === 0) {
        throw new DataSourceError(
          `no file matches ${source} on ${where()}: check the pattern, and that the files are in a ` +
            "folder the workers can read (in a sandbox: the notebook's folder; on Kubernetes use http(s) URLs)",
        );
      }
      for (const file of matches.sort()) add(file);
    } else {
      await checkFile(source);
      add(source);
    }
  }
  return out;
}

async function checkFile(path: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new DataSourceError(
      code === "ENOENT"
        ? `file ${path} does not exist on ${where()}: check the path, and that the file is in a folder ` +
            "the workers can read (in a sandbox: the notebook's folder; on Kubernetes use http(s) URLs)"
        : `cannot read ${path} on ${where()}: ${(error as Error).message}`,
    );
  }
  if (info.isDirectory()) {
    throw new DataSourceError(
      `${path} is a folder, not a file: name its files with a glob, e.g. ${path}/*.csv`,
    );
  }
}

/** The text of a local file or an http(s) URL; `maxBytes` reads only the start. */
async function readSource(source: string, maxBytes?: number): Promise<string> {
  if (URL_PATTERN.test(source)) {
    let response: Response;
    try {
      response = await fetch(source);
    } catch (error) {
      throw new DataSourceError(
        `cannot fetch ${source} from ${where()}: ${(error as Error).message}`,
      );
    }
    if (!response.ok) {
      throw new DataSourceError(
        `GET ${source} from ${where()} answered ${response.status} ${response.statusText}`,
      );
    }
    if (maxBytes === undefined || !response.body) return await response.text();
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    await reader.cancel();
    return new TextDecoder().decode(Buffer.concat(chunks));
  }
  try {
    if (maxBytes === undefined) return await readFile(source, "utf8");
    const handle = await open(source, "r");
    try {
      const buffer = Buffer.alloc(maxBytes);
      const { bytesRead } = await handle.read(buffer, 0, maxBytes, 0);
      return buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    await checkFile(source);
    throw new DataSourceError(`cannot read ${source} on ${where()}: ${(error as Error).message}`);
  }
}

function parseCsv(
  text: string,
  source: string,
  options: CsvReadOptions,
  toLine?: number,
): string[][] {
  try {
    return parse(text, {
      delimiter: options.delimiter,
      bom: true,
      skip_empty_lines: true,
      ...(toLine === undefined ? {} : { to_line: toLine }),
    }) as string[][];
  } catch (error) {
    throw new DataSourceError(`${source} is not valid CSV: ${(error as Error).message}`);
  }
}

/** The files and the column names: the given ones, or the first file's header. */
export async function csvSources(
  sources: string[],
  options: CsvReadOptions,
): Promise<{ files: string[]; columns: string[] }> {
  const files = await listSources(sources);
  if (options.columns) return { files, columns: options.columns };
  const [header] = parseCsv(await readSource(files[0]!, HEADER_BYTES), files[0]!, options, 1);
  if (!header || header.length === 0) {
    throw new DataSourceError(
      `${files[0]} has no header line: name the columns with Table.readCsv(client, paths, { header: false, columns: [...] })`,
    );
  }
  return { files, columns: header };
}

function castField(value: string): unknown {
  if (value === "") return null;
  const trimmed = value.trim();
  if (trimmed !== "" && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(trimmed))
    return Number(trimmed);
  return value;
}

/** One file as a table partition with `columns`. */
export async function readCsvPartition(
  source: string,
  columns: string[],
  options: CsvReadOptions,
): Promise<CsvPartition> {
  const records = parseCsv(await readSource(source), source, options);
  let start = 0;
  if (options.header) {
    const header = records[0] ?? [];
    start = 1;
    if (!options.columns && header.join("\u0000") !== columns.join("\u0000")) {
      throw new DataSourceError(
        `${source} has the columns ${JSON.stringify(header)}, but the first file has ${JSON.stringify(columns)}: ` +
          "read files of one layout together, or name the columns with { columns: [...] }",
      );
    }
  }
  const values: unknown[][] = columns.map(() => []);
  for (let r = start; r < records.length; r++) {
    const record = records[r]!;
    if (record.length !== columns.length) {
      throw new DataSourceError(
        `${source}, record ${r + 1}: ${record.length} fields, but the table has ${columns.length} columns (${columns.join(", ")})`,
      );
    }
    for (let j = 0; j < columns.length; j++) {
      values[j]!.push(options.cast ? castField(record[j]!) : record[j]);
    }
  }
  return { columns: [...columns], length: records.length - start, values };
}

/** One file's lines (without line endings; no empty last line after a final newline). */
export async function readTextPartition(source: string): Promise<string[]> {
  const text = await readSource(source);
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
