export { rejection, waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { freePort, freePorts } from './free-ports.js';
export { AGENTS_SQL } from './fixtures.js';
