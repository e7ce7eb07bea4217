/**
 * Loaded before the demo (`node --import ./dist/instrument.js dist/main.js`): OpenTelemetry's
 * instrumentations patch `http` and `express` as they load, and in an ES module app that takes
 * import-in-the-middle's loader hook, registered before the app's first import. Only the modules an
 * instrumentation names are wrapped (the message channel tells the loader which ones).
 */
import { register } from 'node:module';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { readConfig } from './config.js';
import { preloadDemoTelemetry } from './telemetry.js';

const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);
await preloadDemoTelemetry(readConfig());
// The instrumentations' hooks have reached the loader before main.js imports anything.
await waitForAllMessagesAcknowledged();
