/**
 * `pnpm demo`: starts the embedded dependencies (or uses the real ones named in the environment) and
 * the agent, prints where everything is, and runs until Ctrl-C.
 */
import { A2A_JSONRPC_PATH, A2A_REST_PATH, startAgent } from './agent.js';
import { readConfig } from './config.js';
import { startDependencies } from './stand-ins.js';

const config = readConfig();
console.log('Starting the demo: embedded stand-ins (Supabase on PGlite, did:web host, peer agents) unless the environment names real ones…');
const deps = await startDependencies(config);
let agent;
try {
  agent = await startAgent(config, deps);
} catch (error) {
  await deps.stop();
  if ((error as { code?: string }).code === 'EADDRINUSE') {
    console.error(`Port ${config.port} on ${config.host} is in use: stop what listens there, or start with PORT=<another port> (PORT=0 takes a free one).`);
    process.exit(1);
  }
  throw error;
}

const peers = deps.peers.map((p) => `    ${p.id.padEnd(6)} ${p.url}${p.inRegistry ? '' : '   (DID only)'}${p.did === undefined ? '' : `\n           ${p.did}`}`).join('\n');
console.log(`
Phlow demo agent — an A2A relay agent with circuit breakers on every dependency

  Dashboard        ${agent.url}/
  Agent card       ${agent.url}/.well-known/agent-card.json   (JSON-RPC ${agent.url}${A2A_JSONRPC_PATH}, REST ${agent.url}${A2A_REST_PATH})
  Health           ${agent.url}/health/circuit-breakers
  Metrics          ${agent.url}/metrics
  Admin token      ${agent.adminToken}${process.env['ADMIN_TOKEN'] ? '   (from ADMIN_TOKEN)' : ''}
  Outbox           ${config.outboxPath}   (exchanges waiting for Supabase; PHLOW_OUTBOX_PATH)

  Supabase         ${deps.supabaseUrl}${deps.embedded.includes('supabase') ? '   (embedded stand-in on PGlite, behind a fault proxy)' : ''}
  DID host         ${deps.didWebHost === undefined ? '(none)' : decodeURIComponent(deps.didWebHost)}${deps.embedded.includes('did-host') ? '   (embedded did:web host, behind a fault proxy)' : ''}
  Peers
${peers}

Try:
  curl -s -X POST ${agent.url}/relay -H 'content-type: application/json' -d '{"to":"alpha","text":"hello"}'
  curl -s -X POST ${agent.url}/chaos/peer-alpha/down -H 'authorization: Bearer ${agent.adminToken}'   # then relay again: the breaker opens, answers are immediate
  curl -s -X POST ${agent.url}/chaos/peer-alpha/heal -H 'authorization: Bearer ${agent.adminToken}'
  pnpm demo:load                                          # traffic, so the dashboard moves (AGENT_URL=${agent.url})

Breaker state changes are logged as JSON lines on stderr. Ctrl-C stops everything.
`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${JSON.stringify({ timestamp: Date.now() / 1000, level: 'info', message: `stopping (${signal})` })}\n`);
  // Graceful: stop accepting, let requests in flight finish (PHLOW_SHUTDOWN_MS), commit and close the
  // outbox, flush telemetry; a supervisor's restart then loses nothing.
  await agent.stop(config.shutdownMs);
  await deps.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
