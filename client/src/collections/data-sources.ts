/**
 * Loading data on the workers (`Table.readCsv`, `Bag.readText`): the arguments are checked
 * here, the readers (readers/worker-readers.ts, with csv-parse and tinyglobby) are uploaded
 * once per client as a module, one small task on a worker expands globs and checks the
 * files (and reads the CSV header), and each file becomes one partition read by a task on
 * the worker that runs it. Relative paths are made absolute against the notebook's folder.
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import type { Client } from "../client.js";
import type { Future } from "../futures/future.js";
import type { RemoteModule } from "../modules/remote-module.js";
import { closedError } from "./client-sink.js";
import { parseCollectionOptions } from "./collection-options.js";
import { composeTask, type TaskFunction, userBinding } from "./compose.js";
import { CollectionError } from "./errors.js";
import type { Plan } from "./plan.js";
import type * as Readers from "./readers/worker-readers.js";
import { checkColumnNames } from "./table-sources.js";
import { describeValue, userFunction } from "./user-function.js";

const URL_PATTERN = /^https?:\/\//i;

export const CsvOptions = z
  .strictObject({
    /** The field separator (default ","). */
    delimiter: z.string().length(1).default(","),
    /** The files start with a header line (default true). */
    header: z.boolean().default(true),
    /** Column names: replace the header's, or name the columns of files without one. */
    columns: z.array(z.string()).min(1).optional(),
    /** Numbers as numbers and empty fields as null (default true); false keeps strings. */
    cast: z.boolean().default(true),
  })
  .refine((o) => o.header || o.columns !== undefined, {
    message:
      "files without a header line need their column names: { header: false, columns: [...] }",
  });
export type CsvOptions = z.input<typeof CsvOptions>;

const Path = z.string().refine((s) => s.trim() !== "", "a path cannot be empty");
/** The paths/URLs/globs argument: one string or a non-empty array of them. */
export const DataSources = z.union([Path, z.array(Path).min(1).max(100_000)]);

/** Checks the paths/URLs/globs argument; relative paths become absolute (the notebook's folder). */
export function checkSources(sources: unknown, where: string): string[] {
  const parsed = DataSources.safeParse(sources);
  if (!parsed.success) {
    throw new CollectionError(
      "invalid-argument",
      `${where} takes a path, an http(s) URL or a glob ("data/*.csv"), or a non-empty array of them; got ${describeValue(sources)}`,
    );
  }
  const list = typeof parsed.data === "string" ? [parsed.data] : parsed.data;
  // Workers resolve relative paths against their own folder: make them absolute here.
  return list.map((s) => (URL_PATTERN.test(s) || isAbsolute(s) ? s : resolve(process.cwd(), s)));
}

export function parseCsvOptions(options: unknown): Readers.CsvReadOptions {
  const parsed = parseCollectionOptions(CsvOptions, options, "Table.readCsv options");
  if (parsed.columns) checkColumnNames(parsed.columns, "Table.readCsv columns");
  return parsed;
}

const modules = new WeakMap<Client, Promise<RemoteModule<typeof Readers>>>();

function readersPath(): string {
  // Built: worker-readers.js beside this file's folder; from sources (tests): the .ts.
  const js = fileURLToPath(new URL("./readers/worker-readers.js", import.meta.url));
  return existsSync(js) ? js : js.replace(/\.js$/, ".ts");
}

/** The readers module for `client` (bundled and uploaded once per client). */
function readersModule(client: Client): Promise<RemoteModule<typeof Readers>> {
  let module = modules.get(client);
  if (!module) {
    module = client.uploadModule<typeof Readers>(readersPath());
    module.catch(() => modules.delete(client));
    modules.set(client, module);
  }
  return module;
}

/** The value of one small task on a worker (its errors as collection errors); releases it. */
async function onWorker<R>(future: Future<R>): Promise<R> {
  try {
    return await future.result();
  } catch (error) {
    throw closedError(error);
  } finally {
    future.release();
  }
}

/** A partitions plan: one task per file, `read(file, ...args)` through the readers module. */
function filePlan(files: string[], read: TaskFunction, args: readonly unknown[]): Plan {
  return {
    kind: "partitions",
    input: { kind: "literal", partitions: files },
    fn: read,
    args,
  };
}

function readTask(name: string, fn: unknown, where: string, params: string[]): TaskFunction {
  return composeTask({
    name,
    params: [...params, "$lb_index"],
    bindings: [userBinding("$lb_read", userFunction(fn, where))],
    body: `  return $lb_read(${params.join(", ")});`,
  });
}

/** The plan and columns of `Table.readCsv`: one partition per file. */
export async function csvPlan(
  client: Client,
  sources: string[],
  options: Readers.CsvReadOptions,
): Promise<{ plan: Plan; columns: string[] }> {
  const mod = await readersModule(client);
  const { files, columns } = await onWorker(
    client.submit(mod.functions.csvSources, sources, options),
  );
  checkColumnNames(columns, `Table.readCsv: the header of ${files[0]}`);
  const read = readTask("read_csv", mod.functions.readCsvPartition, "Table.readCsv", [
    "$lb_file",
    "$lb_columns",
    "$lb_options",
  ]);
  return { plan: filePlan(files, read, [columns, options]), columns };
}

/** The plan of `Bag.readText`: one partition per file, its lines as items. */
export async function textPlan(client: Client, sources: string[]): Promise<Plan> {
  const mod = await readersModule(client);
  const files = await onWorker(client.submit(mod.functions.listSources, sources));
  const read = readTask("read_text", mod.functions.readTextPartition, "Bag.readText", ["$lb_file"]);
  return filePlan(files, read, []);
}
