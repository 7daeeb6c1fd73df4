import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "./chart-tools.js";

/** The five images: their Dockerfile, the workspace whose production deps they install, the CLI they run. */
export const IMAGES = [
  { image: "scheduler", dockerfile: "scheduler/Dockerfile", workspace: "@launchbay/scheduler" },
  { image: "worker", dockerfile: "worker/Dockerfile", workspace: "@launchbay/worker" },
  { image: "notebook", dockerfile: "worker/notebook.Dockerfile", workspace: "launchbay" },
  { image: "web", dockerfile: "web/Dockerfile", workspace: "@launchbay/web" },
  { image: "operator", dockerfile: "operator/Dockerfile", workspace: "@launchbay/operator" },
] as const;

export interface Instruction {
  keyword: string;
  args: string;
  /** Index of the build stage (0 = the first FROM). */
  stage: number;
}

/** Parses a Dockerfile into instructions (line continuations joined, comments dropped). */
export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = "";
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (current === "" && /^\s*#/.test(line)) continue;
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== "") logical.push(current.trim());
    current = "";
  }
  let stage = -1;
  return logical.map((line) => {
    const space = line.search(/\s/);
    const keyword = (space < 0 ? line : line.slice(0, space)).toUpperCase();
    const args = space < 0 ? "" : line.slice(space + 1).trim();
    if (keyword === "FROM") stage += 1;
    return { keyword, args, stage };
  });
}

export async function readDockerfile(path: string): Promise<Instruction[]> {
  return parseDockerfile(await readFile(join(repoRoot, path), "utf8"));
}

/** Default values of the ARGs declared before the first FROM. */
export function globalArgs(instructions: Instruction[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const i of instructions) {
    if (i.keyword === "FROM") break;
    if (i.keyword === "ARG") {
      const [name, value] = i.args.split("=", 2) as [string, string | undefined];
      if (value !== undefined) args[name] = value;
    }
  }
  return args;
}

/** `COPY [--flags] src... dest` → { flags, sources, dest }. */
export function copyParts(args: string): { flags: string[]; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith("--"));
  const rest = words.filter((w) => !w.startsWith("--"));
  return { flags, sources: rest.slice(0, -1), dest: rest[rest.length - 1] ?? "" };
}

/** The exec-form JSON array of ENTRYPOINT/CMD. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return parsed;
}

export function finalStage(instructions: Instruction[]): Instruction[] {
  const last = Math.max(...instructions.map((i) => i.stage));
  return instructions.filter((i) => i.stage === last);
}
