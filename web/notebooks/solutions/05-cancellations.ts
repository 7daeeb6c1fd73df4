// Solution to the exercise of 05-dataframes.ipynb: paste it into the exercise cell.
const byMonth = flights
  .withColumn("c", (f: Flight) => (f.cancelled ? 1 : 0))
  .groupBy("month")
  .agg({ cancellations: ["c", "sum"] });
const [worst] = await byMonth.sortBy("cancellations", { descending: true }).head(1);
console.log("most cancellations:", worst);
const months = await byMonth.sortBy("month").compute();
plot.show(
  plot.bars(months, {
    x: "month",
    y: "cancellations",
    horizontal: false,
    title: "cancellations per month",
  }),
);
