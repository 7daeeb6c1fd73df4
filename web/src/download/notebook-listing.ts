import { z } from "zod";
import type { Upstream } from "../backend/backend.js";
import { LauncherError } from "../errors.js";

/** One file to put in the download, as the notebook server's contents API lists it. */
export interface ListedFile {
  path: string;
  /** Bytes, as listed (the stream is still counted: a file can grow after listing). */
  size: number;
  modifiedAt?: Date;
}

export interface DownloadLimits {
  maxFiles: number;
  maxBytes: number;
}

const itemSchema = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(["directory", "file", "notebook"]),
  last_modified: z.string().optional(),
  size: z.number().nullable().optional(),
});
const directorySchema = z.object({
  type: z.literal("directory"),
  content: z.array(itemSchema),
});

export function contentsUrl(upstream: Upstream, api: "api/contents" | "files", path: string): URL {
  const encoded = path.split("/").map(encodeURIComponent).join("/");
  return new URL(`${api}/${encoded}`, upstream.baseUrl);
}

export function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

function tooLarge(what: string): LauncherError {
  return new LauncherError(
    "download-too-large",
    `your work is too large to download in one zip (${what}); delete or move large files (e.g. data you can fetch again), then try again`,
  );
}

function unavailable(detail: string, cause?: unknown): LauncherError {
  return new LauncherError(
    "upstream-unavailable",
    `could not read your files from the notebook server (${detail}); try again in a moment`,
    { cause },
  );
}

/**
 * Lists every file of the sandbox's notebook directory through the Jupyter server's
 * contents API (directories only: no file content passes through here). Hidden files and
 * node_modules are left out. Refuses before any byte is sent when the listed sizes
 * already exceed the limit.
 */
export async function listNotebookFiles(
  upstream: Upstream,
  limits: DownloadLimits,
): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  let bytes = 0;
  const walk = async (path: string): Promise<void> => {
    const url = contentsUrl(upstream, "api/contents", path);
    url.searchParams.set("content", "1");
    let res: Response;
    try {
      res = await fetch(url, { headers: upstream.headers });
    } catch (err) {
      throw unavailable((err as Error).message, err);
    }
    if (!res.ok) throw unavailable(`it answered ${res.status} for ${path || "/"}`);
    const parsed = directorySchema.safeParse(await res.json());
    if (!parsed.success) throw unavailable(`an unexpected listing for ${path || "/"}`);
    for (const item of parsed.data.content) {
      if (item.name.startsWith(".") || item.name === "node_modules") continue;
      if (item.type === "directory") {
        await walk(item.path);
        continue;
      }
      if (files.length >= limits.maxFiles) throw tooLarge(`more than ${limits.maxFiles} files`);
      const size = item.size ?? 0;
      bytes += size;
      if (bytes > limits.maxBytes) throw tooLarge(`more than ${mib(limits.maxBytes)}`);
      files.push({
        path: item.path,
        size,
        modifiedAt: item.last_modified ? new Date(item.last_modified) : undefined,
      });
    }
  };
  await walk("");
  return files;
}
