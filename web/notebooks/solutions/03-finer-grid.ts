// Solution to the exercise of 03-parameter-search.ipynb: paste it into the exercise cell.
const lambdas = Array.from({ length: 8 }, (_, i) => 10 ** (-4 + (5 * i) / 7));
const fine = [];
for (let degree = 1; degree <= 12; degree++) {
  for (const lambda of lambdas) fine.push(client.submit(fitAndScore, shared, degree, lambda));
}
const fineResults = await client.gather(fine);
const fineBest = fineResults.reduce((a, b) => (b.error < a.error ? b : a));
console.log(`${fineResults.length} fits; best of the finer grid:`, plot.round(fineBest, 4));
plot.show(
  plot.heatmap(plot.round(fineResults, 4), {
    x: "lambda",
    y: "degree",
    value: "error",
    title: "finer grid",
  }),
);
