import { fileURLToPath } from 'node:url';

/** The schema of the Supabase tests (agents, events): an agent's tables, for PostgreSQL or PGlite. */
export const AGENTS_SQL = fileURLToPath(new URL('../fixtures/agents.sql', import.meta.url));
