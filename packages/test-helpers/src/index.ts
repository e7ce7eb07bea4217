export { rejection, waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { freePort, freePorts } from './free-ports.js';
export { AGENTS_SQL } from './fixtures.js';
export { startPrometheus } from './prometheus-server.js';
export type { PrometheusServer, PrometheusServerOptions } from './prometheus-server.js';
