// Solution to the exercise of 01-map.ipynb: paste it into the exercise cell.
function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

const limits = [1_000_000, 2_000_000, 3_000_000, 4_000_000];
let began = Date.now();
const countedHere = limits.map(countPrimes);
const primesSequentialMs = Date.now() - began;

began = Date.now();
const counts = await client.gather(client.map(countPrimes, limits));
const primesClusterMs = Date.now() - began;
console.log(
  counts,
  "the same as sequentially:",
  JSON.stringify(counts) === JSON.stringify(countedHere),
);
plot.show(
  plot.timings(
    { sequential: primesSequentialMs, cluster: primesClusterMs },
    { title: "countPrimes × 4" },
  ),
);
// Not 4× faster: three workers for four tasks of different sizes; the biggest one
// (4 000 000) takes longest, and the cluster is done only when it is.
