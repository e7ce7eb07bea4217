/** Connection counters of a {@link FaultProxy}. */
export interface ConnectionStats {
  /** Connections accepted from clients. */
  accepted: number;
  /** Client connections open right now. */
  active: number;
  /** Connections the client closed first (FIN or RST from the client side), e.g. after an abort. */
  closedByClient: number;
  /** Connections the target closed first (TCP mode). */
  closedByUpstream: number;
  /** Connections the proxy closed (faults, idle keep-alive timeout, stop). */
  closedByProxy: number;
  /** Connections reset by the `reset` fault. */
  reset: number;
  /** Connections that could not reach the target (TCP mode; in HTTP mode see `requests.upstreamFailed`). */
  upstreamFailed: number;
}

/** HTTP request counters of a {@link FaultProxy} in HTTP mode (all zero in TCP mode). */
export interface RequestStats {
  /** Requests received from clients. */
  received: number;
  /** Requests sent on to the target. */
  forwarded: number;
  /** Forwarded requests whose response was delivered completely. */
  completed: number;
  /** Requests answered with an injected error status. */
  injected: number;
  /** Requests swallowed by the black hole. */
  blackHoled: number;
  /** Requests whose connection was reset by the `reset` fault. */
  reset: number;
  /** Requests the client gave up on before the response was complete. */
  abortedByClient: number;
  /** Requests that failed at the target (refused, reset...) and got a 502 or a broken response. */
  upstreamFailed: number;
}

/** A snapshot of what a {@link FaultProxy} passed and what it broke. */
export interface FaultProxyStats {
  connections: ConnectionStats;
  requests: RequestStats;
  /** Bytes delivered in each direction. */
  bytes: { toUpstream: number; toClient: number };
}

/** Fresh all-zero counters. */
export function emptyStats(): FaultProxyStats {
  return {
    connections: { accepted: 0, active: 0, closedByClient: 0, closedByUpstream: 0, closedByProxy: 0, reset: 0, upstreamFailed: 0 },
    requests: { received: 0, forwarded: 0, completed: 0, injected: 0, blackHoled: 0, reset: 0, abortedByClient: 0, upstreamFailed: 0 },
    bytes: { toUpstream: 0, toClient: 0 },
  };
}

/** A deep copy, so callers can keep a snapshot while the proxy goes on counting. */
export function copyStats(stats: FaultProxyStats): FaultProxyStats {
  return { connections: { ...stats.connections }, requests: { ...stats.requests }, bytes: { ...stats.bytes } };
}
