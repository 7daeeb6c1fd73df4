/** A notebook (nbformat 4.5) for the tslab TypeScript kernel: one code cell per source, no outputs yet. */
export function tslabNotebook(cells: readonly string[]): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "tslab", display_name: "TypeScript", language: "typescript" },
    },
    cells: cells.map((source, i) => ({
      cell_type: "code",
      id: `cell-${i + 1}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source,
    })),
  };
}
