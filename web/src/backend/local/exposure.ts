import { statSync } from "node:fs";
import { dirname, relative, sep } from "node:path";

/** A path a sandbox's processes need, and whether they may write to it. */
export interface NeededPath {
  path: string;
  writable: boolean;
}

/**
 * A directory other users cannot enter (e.g. `/root`, mode 0700) that holds paths a
 * sandbox needs (the venv, Python, tslab, its own home). In the sandbox's own mount
 * namespace the directory is covered by an empty tmpfs, and only the needed paths are
 * mounted back inside it — read-only unless writable — so nothing else in it shows.
 */
export interface Cover {
  dir: string;
  paths: NeededPath[];
}

/** Whether users other than the owner may enter this directory (`o+x`). */
function othersMayEnter(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o001) !== 0;
  } catch {
    return false;
  }
}

/** The outermost proper ancestor of `path` that other users cannot enter, if any. */
export function outermostClosedAncestor(
  path: string,
  mayEnter: (dir: string) => boolean = othersMayEnter,
): string | undefined {
  const ancestors: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    ancestors.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  return ancestors.find((dir) => !mayEnter(dir));
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep);
}

/**
 * Groups the needed paths under the closed directories that hide them. Paths every user
 * can already reach need nothing. Within a cover, paths come outermost first, so a
 * writable path inside a read-only one is mounted on top of it.
 */
export function planCovers(
  needed: NeededPath[],
  mayEnter: (dir: string) => boolean = othersMayEnter,
): Cover[] {
  const byDir = new Map<string, NeededPath[]>();
  for (const entry of needed) {
    const closed = outermostClosedAncestor(entry.path, mayEnter);
    if (!closed) continue;
    const list = byDir.get(closed) ?? [];
    list.push(entry);
    byDir.set(closed, list);
  }
  // A cover inside another cover is subsumed: its paths join the outer one.
  const dirs = [...byDir.keys()].sort((a, b) => a.length - b.length);
  const covers: Cover[] = [];
  for (const dir of dirs) {
    const outer = covers.find((c) => isInside(dir, c.dir));
    const paths = byDir.get(dir)!;
    if (outer) outer.paths.push(...paths);
    else covers.push({ dir, paths: [...paths] });
  }
  for (const cover of covers) {
    const unique = new Map<string, NeededPath>();
    for (const p of cover.paths) {
      const seen = unique.get(p.path);
      unique.set(p.path, { path: p.path, writable: p.writable || (seen?.writable ?? false) });
    }
    cover.paths = [...unique.values()].sort((a, b) => a.path.length - b.path.length);
  }
  return covers;
}
