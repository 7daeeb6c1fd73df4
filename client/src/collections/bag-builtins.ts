/**
 * The functions Bag's built-in operations (count, sum, mean, frequencies, pluck)
 * hand to the same machinery as user functions: each is self-contained, because its
 * source is what runs on the workers.
 */
export function pluckField(item: unknown, field: string | number): unknown {
  return (item as Record<string | number, unknown>)[field];
}
export function identity(item: unknown): unknown {
  return item;
}
export function countItem(n: number): number {
  return n + 1;
}
export function addNumbers(a: number, b: number): number {
  return a + b;
}
export function sumAndCount(items: number[]): [number, number] {
  let total = 0;
  for (const x of items) total += x;
  return [total, items.length];
}
export function addSumsAndCounts(partials: [number, number][]): [number, number] {
  let total = 0;
  let n = 0;
  for (const [t, c] of partials) {
    total += t;
    n += c;
  }
  return [total, n];
}
