export {
  type BarOptions,
  bars,
  type HeatmapOptions,
  heatmap,
  type Row,
  round,
  speedUp,
  type TimingOptions,
  timings,
  VEGA_LITE_SCHEMA,
  type VegaLiteSpec,
} from "./charts.js";
export { type ShowOptions, show, specText, VEGA_LITE_MIME } from "./show.js";
