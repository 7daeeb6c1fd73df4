/** Parsing and printing byte sizes: `2GiB`, `1.5GB`, `500MiB`, `1048576`, `80%`. */

const UNITS: Record<string, number> = {
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gib: 2 ** 30,
  t: 1e12,
  tb: 1e12,
  tib: 2 ** 40,
};

const SIZE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i;
const PERCENT = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/;

export type ParsedSize = { ok: true; bytes: number } | { ok: false; error: string };

const EXPECTED =
  "expected a size such as 2GiB, 1.5GB, 500MiB, a number of bytes, or a percentage of memory such as 80%";

/**
 * Parses a memory limit. Percentages are of `totalMemory` (the machine's memory, or
 * the container's limit when smaller). Returns whole bytes, at least 1.
 */
export function parseMemoryLimit(text: string, totalMemory: number): ParsedSize {
  const percent = PERCENT.exec(text);
  if (percent) {
    const p = Number(percent[1]);
    if (!(p > 0 && p <= 100))
      return { ok: false, error: `${text} is not a percentage between 0 and 100` };
    return { ok: true, bytes: Math.max(1, Math.floor((totalMemory * p) / 100)) };
  }
  const size = SIZE.exec(text);
  if (!size) return { ok: false, error: `"${text}" is not a size: ${EXPECTED}` };
  const unit = (size[2] ?? "").toLowerCase();
  const factor = unit === "" ? 1 : UNITS[unit];
  if (factor === undefined) {
    return {
      ok: false,
      error: `"${size[2]}" is not a unit: use B, KB, KiB, MB, MiB, GB, GiB, TB or TiB`,
    };
  }
  const bytes = Math.floor(Number(size[1]) * factor);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    return { ok: false, error: `${text} is not a usable memory limit: ${EXPECTED}` };
  }
  return { ok: true, bytes };
}

/** The memory this process may use: the machine's, or its cgroup limit when lower. */
export function availableMemory(totalmem: number, constrained: number | undefined): number {
  if (constrained !== undefined && constrained > 0 && constrained < totalmem) return constrained;
  return totalmem;
}

/** `123456789` → `"118 MiB"`: binary units, up to 3 significant digits. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const shown = i === 0 || value >= 100 ? Math.round(value) : Number(value.toPrecision(3));
  return `${shown} ${units[i]}`;
}
