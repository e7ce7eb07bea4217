-- Schema used by the Supabase stand-in tests: the tables an agent keeps in Supabase.
create table agents (
  id text primary key,
  name text not null,
  role text,
  score integer default 0,
  metadata jsonb,
  created_at timestamptz not null default '2026-01-01T00:00:00Z'
);

create table events (
  id bigserial primary key,
  agent_id text not null references agents (id),
  kind text not null,
  unique (agent_id, kind)
);
