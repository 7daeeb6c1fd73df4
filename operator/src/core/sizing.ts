import { formatCpuMillis, parseCpuMillis, parseMemoryBytes } from "../api/quantity.js";
import type { SandboxTemplate } from "../api/workshop.js";

export interface ComponentSize {
  cpuMillis: number;
  memoryBytes: number;
}

/** Parses one container's CPU and memory (request = limit). */
export function componentSize(r: { cpu: string; memory: string }, what: string): ComponentSize {
  const cpuMillis = parseCpuMillis(r.cpu);
  const memoryBytes = parseMemoryBytes(r.memory);
  if (cpuMillis === undefined || memoryBytes === undefined) {
    throw new Error(`resources.${what} has a malformed quantity (${r.cpu}, ${r.memory})`);
  }
  return { cpuMillis, memoryBytes };
}

/** Requests (= limits) of each component, parsed from a defaulted template. */
export function componentSizes(template: SandboxTemplate): {
  scheduler: ComponentSize;
  worker: ComponentSize;
  notebook: ComponentSize;
} {
  const size = componentSize;
  return {
    scheduler: size(template.resources.scheduler, "scheduler"),
    worker: size(template.resources.worker, "worker"),
    notebook: size(template.resources.notebook, "notebook"),
  };
}

/** Worker threads: the template's value, else the worker CPU rounded up. */
export function threadsPerWorker(template: SandboxTemplate, worker: ComponentSize): number {
  return template.threadsPerWorker ?? Math.max(1, Math.ceil(worker.cpuMillis / 1000));
}

/** The worker's memory budget in the runtime's notation (`2048MiB`). */
export function workerMemoryLimit(worker: ComponentSize): string {
  return `${Math.floor(worker.memoryBytes / 1024 ** 2)}MiB`;
}

export function resourceRequirements(r: { cpu: string; memory: string }) {
  const cpu = formatCpuMillis(parseCpuMillis(r.cpu) ?? 0);
  return { requests: { cpu, memory: r.memory }, limits: { cpu, memory: r.memory } };
}
