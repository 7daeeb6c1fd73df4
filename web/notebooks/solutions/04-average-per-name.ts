// Solution to the exercise of 04-collections.ipynb: paste it into the exercise cell.
type SumCount = [number, number];
const averages = await parsed
  .foldBy(
    (a: Account) => a.name,
    ([sum, count]: SumCount, a: Account): SumCount => [
      sum + a.transactions.reduce((s, t) => s + t.amount, 0),
      count + a.transactions.length,
    ],
    [0, 0] as SumCount,
    (x: SumCount, y: SumCount): SumCount => [x[0] + y[0], x[1] + y[1]],
  )
  .map(([name, [sum, count]]: [string, SumCount]) => ({ name, average: sum / count }))
  .compute();
averages.sort((a, b) => b.average - a.average);
console.table(plot.round(averages, 1));
plot.show(
  plot.bars(averages, {
    x: "name",
    y: "average",
    sort: true,
    title: "average transaction per name",
  }),
);
