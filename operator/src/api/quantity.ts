/** Kubernetes resource quantities for CPU and memory (a practical subset: no exponents). */
export const CPU_PATTERN = "^([0-9]+m|[0-9]+(\\.[0-9]{1,3})?)$";
export const MEMORY_PATTERN = "^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$";

const cpuRegex = new RegExp(CPU_PATTERN);
const memoryRegex = /^([0-9]+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

const memoryFactor: Record<string, number> = {
  "": 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** `500m` → 500, `2` → 2000, `1.5` → 1500 (millicores); undefined if malformed. */
export function parseCpuMillis(text: string): number | undefined {
  if (!cpuRegex.test(text)) return undefined;
  if (text.endsWith("m")) return Number.parseInt(text.slice(0, -1), 10);
  return Math.round(Number.parseFloat(text) * 1000);
}

/** `1536Mi` → bytes; undefined if malformed. */
export function parseMemoryBytes(text: string): number | undefined {
  const match = memoryRegex.exec(text);
  if (!match) return undefined;
  return Number.parseInt(match[1] ?? "0", 10) * (memoryFactor[match[2] ?? ""] ?? 1);
}

export function formatCpuMillis(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Bytes as whole mebibytes (`1536Mi`), rounding down. */
export function formatMemoryMi(bytes: number): string {
  return `${Math.floor(bytes / 1024 ** 2)}Mi`;
}
