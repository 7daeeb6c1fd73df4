import { z } from "zod";
import type { Upstream } from "../backend/backend.js";
import type { ZipEntry } from "./zip.js";

const contentsSchema: z.ZodType<JupyterContents> = z.lazy(() =>
  z.object({
    name: z.string(),
    path: z.string(),
    type: z.enum(["directory", "file", "notebook"]),
    last_modified: z.string().optional(),
    format: z.string().nullable().optional(),
    content: z.unknown(),
  }),
);

interface JupyterContents {
  name: string;
  path: string;
  type: "directory" | "file" | "notebook";
  last_modified?: string;
  format?: string | null;
  content?: unknown;
}

export interface CollectLimits {
  maxFiles: number;
  maxBytes: number;
}

/**
 * Collects every file of a sandbox's notebook directory through the Jupyter server's
 * contents API (so it works the same for local and Kubernetes sandboxes).
 */
export async function collectNotebookFiles(
  upstream: Upstream,
  limits: CollectLimits = { maxFiles: 2000, maxBytes: 200 * 1024 * 1024 },
): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  let bytes = 0;
  const fetchContents = async (path: string): Promise<JupyterContents> => {
    const url = new URL(
      `api/contents/${path.split("/").map(encodeURIComponent).join("/")}`,
      upstream.baseUrl,
    );
    url.searchParams.set("content", "1");
    const res = await fetch(url, { headers: upstream.headers });
    if (!res.ok) throw new Error(`the notebook server answered ${res.status} for ${path || "/"}`);
    return contentsSchema.parse(await res.json());
  };
  const walk = async (path: string): Promise<void> => {
    const dir = await fetchContents(path);
    if (dir.type !== "directory" || !Array.isArray(dir.content)) return;
    for (const raw of dir.content) {
      const item = contentsSchema.parse(raw);
      if (item.name.startsWith(".") || item.name === "node_modules") continue;
      if (item.type === "directory") {
        await walk(item.path);
        continue;
      }
      if (entries.length >= limits.maxFiles)
        throw new Error(`more than ${limits.maxFiles} files to download`);
      const file = await fetchContents(item.path);
      let data: Buffer;
      if (file.type === "notebook")
        data = Buffer.from(`${JSON.stringify(file.content, null, 1)}\n`);
      else if (file.format === "base64") data = Buffer.from(String(file.content ?? ""), "base64");
      else data = Buffer.from(String(file.content ?? ""), "utf8");
      bytes += data.length;
      if (bytes > limits.maxBytes)
        throw new Error(`more than ${limits.maxBytes} bytes to download`);
      entries.push({
        name: file.path,
        data,
        modifiedAt: file.last_modified ? new Date(file.last_modified) : undefined,
      });
    }
  };
  await walk("");
  return entries;
}
