/** Prometheus metrics of a node (`/metrics`). */
export { Metrics, type MetricsSources } from './metrics.js';
