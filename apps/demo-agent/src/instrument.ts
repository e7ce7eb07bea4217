/**
 * Loaded before the demo (`node --import ./dist/instrument.js dist/main.js`, what `pnpm demo` runs):
 * starts the telemetry, and with it the http and express instrumentations, before the app's first
 * import. They patch those modules as they load, so once the app has imported them it is too late.
 *
 * No loader hook is registered: `http` is a builtin and `express` is CommonJS, which
 * require-in-the-middle patches as they load, also when an ES module imports them (the whole-trace e2e
 * test checks it). An instrumentation of an ES-only package would need import-in-the-middle's hook
 * (`import-in-the-middle/register-hooks.mjs`: `module.register`, its asynchronous predecessor, is
 * deprecated on Node 26).
 */
import { readConfig } from './config.js';
import { preloadDemoTelemetry } from './telemetry.js';

await preloadDemoTelemetry(readConfig());
