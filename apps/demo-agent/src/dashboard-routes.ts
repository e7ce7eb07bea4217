/**
 * The live dashboard: the page at `/`, the state it draws (`GET /api/state`) and that state pushed
 * every half second, and on every change, as server-sent events (`GET /events`).
 */
import type { CircuitBreakerRegistry } from '@phlow/circuit-breaker';
import type { Express, Request, Response } from 'express';
import { CallLatencies } from './call-latencies.js';
import type { DependencyState } from './chaos-routes.js';
import { DASHBOARD_HTML } from './dashboard.js';
import { EventStreams } from './event-streams.js';
import { sendError } from './http-errors.js';
import type { OutboxStats } from './outbox.js';
import { RecentTransitions } from './recent-transitions.js';
import { PolicyActivity } from './policy-activity.js';
import { pagePolicy } from './security-headers.js';
import { StateTimeline } from './state-timeline.js';
import { TrafficSamples } from './traffic-samples.js';

/** The dashboard runs its own script only, and talks to this agent only. */
const DASHBOARD_POLICY = pagePolicy(DASHBOARD_HTML);
/** Most dashboards (server-sent event streams) served at once. */
const MAX_EVENT_STREAMS = 100;
/** Most bytes a dashboard may leave unread (a few seconds of snapshots) before its stream is closed. */
const MAX_EVENT_BACKLOG_BYTES = 1_000_000;
const PUSH_EVERY_MS = 500;

export interface DashboardOptions {
  readonly registry: CircuitBreakerRegistry;
  readonly status: () => 'healthy' | 'degraded';
  readonly dependencies: () => DependencyState[];
  readonly outbox: { readonly stats: OutboxStats };
  readonly relay: { readonly counts: { relayed: number; failed: number } };
}

export interface Dashboard {
  /** Pushes the state to every open dashboard now (after a change the operator made). */
  broadcast(): void;
  /** Stops sampling and pushing, and closes every stream. */
  stop(): void;
}

export function mountDashboard(app: Express, { registry, status, dependencies, outbox, relay }: DashboardOptions): Dashboard {
  const transitions = new RecentTransitions(registry);
  const samples = new TrafficSamples(registry);
  const timeline = new StateTimeline(registry);
  const latencies = new CallLatencies(registry);
  const policies = new PolicyActivity(registry);
  const snapshot = () => {
    const now = Date.now();
    const latency = latencies.read();
    return {
      now,
      status: status(),
      breakers: Object.entries(registry.getStats()).map(([name, s]) => ({
        name,
        state: s.state,
        failure_count: s.failure_count,
        failure_threshold: s.failure_threshold,
        total_calls: s.total_calls,
        total_failures: s.total_failures,
        total_rejections: s.total_rejections,
        retry_in_ms: s.retry_at === null ? null : Math.max(0, s.retry_at - now),
        latency: latency.get(name) ?? null,
      })),
      dependencies: dependencies(),
      outbox: outbox.stats,
      relays: relay.counts,
      policies: policies.counts,
      transitions: transitions.list,
      samples: samples.samples,
      timeline: timeline.read(),
    };
  };
  const streams = new EventStreams({ maxStreams: MAX_EVENT_STREAMS, maxBacklogBytes: MAX_EVENT_BACKLOG_BYTES });
  const broadcast = () => {
    if (streams.size > 0) streams.broadcast(JSON.stringify(snapshot()));
  };
  const pusher = setInterval(broadcast, PUSH_EVERY_MS);

  app.get('/api/state', (_req, res) => void res.json(snapshot()));
  app.get('/events', (_req: Request, res: Response) => {
    if (!streams.hasRoom) {
      sendError(res, 503, `too many dashboards open (${MAX_EVENT_STREAMS}); close one and reload`);
      return;
    }
    streams.open(res, JSON.stringify(snapshot()));
  });
  app.get('/', (_req, res) => void res.type('html').set('content-security-policy', DASHBOARD_POLICY).send(DASHBOARD_HTML));

  return {
    broadcast,
    stop: () => {
      samples.dispose();
      timeline.dispose();
      latencies.dispose();
      policies.dispose();
      clearInterval(pusher);
      transitions.dispose();
      streams.closeAll();
    },
  };
}
