export { Bag, type GroupByOptions } from "./bag.js";
export type { PartitionOptions, ReduceOptions } from "./collection-options.js";
export type { CsvOptions } from "./data-sources.js";
export type { FromFuturesOptions } from "./table-sources.js";
export { COLLECTION_ERROR_CODES, CollectionError, type CollectionErrorCode } from "./errors.js";
export type { PersistOptions } from "./persist-options.js";
export { Scalar } from "./scalar.js";
export { AGGREGATIONS, type Aggregation, type Description } from "./table-aggregations.js";
export {
  type AggSpecOf,
  GroupedTable,
  type Row,
  type SortOptions,
  Table,
  type TableOptions,
} from "./table.js";
