import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Role, TaskState, type AgentCard, type Message, type Part, type Task } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
  type AgentExecutor,
  type ExecutionEventBus,
  type RequestContext,
} from '@a2a-js/sdk/server';
import { UserBuilder, agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import express, { type RequestHandler } from 'express';
import { agentCard } from './agent-card.js';
import { Emitter, type Disposable } from './disposable.js';
import { close, listen } from './listen.js';
import { checkHost, checkNonNegative, checkPort, rangeError, typeError } from './option-errors.js';

const COMPONENT = 'A2aPeer';

/**
 * What the peer's agent does with each message:
 * - `echo`: answers at once with a message `echo: <text>`.
 * - `delay`: waits `ms`, then behaves like `then` (echo by default). Stopping the peer or cancelling ends the wait.
 * - `fail`: the executor throws `message`; the SDK turns that into the protocol's error answer.
 * - `task`: runs a task lifecycle: task (submitted) → working → one artifact per step (`stepDelayMs` apart)
 *   → completed (or `finalState`), streaming every event to `sendMessageStream` clients.
 */
export type A2aBehavior =
  | { readonly kind: 'echo' }
  | { readonly kind: 'delay'; readonly ms: number; readonly then?: A2aBehavior }
  | { readonly kind: 'fail'; readonly message?: string }
  | { readonly kind: 'task'; readonly steps?: number; readonly stepDelayMs?: number; readonly finalState?: 'completed' | 'failed' };

/** Options of an {@link A2aPeer}. */
export interface A2aPeerOptions {
  /** Agent name on the card. Default `'phlow-testkit-peer'`. */
  readonly name?: string;
  /** Initial behaviour. Default `{ kind: 'echo' }`. */
  readonly behavior?: A2aBehavior;
  /** Address to listen on. Default `'127.0.0.1'`. */
  readonly host?: string;
  /** Port to listen on; 0 (the default) takes a free one. */
  readonly port?: number;
}

/** One HTTP request the peer received. */
export interface A2aPeerRequest {
  readonly method: string;
  /** Path and query, e.g. `/a2a/jsonrpc`. */
  readonly url: string;
  /** Headers as received (lower-case names), e.g. `traceparent`. */
  readonly headers: IncomingHttpHeaders;
}

/** Path of the JSON-RPC binding. */
export const A2A_JSONRPC_PATH = '/a2a/jsonrpc';
/** Path of the HTTP+JSON (REST) binding. */
export const A2A_REST_PATH = '/a2a/rest';

function checkBehavior(value: unknown, option = 'behavior'): A2aBehavior {
  if (typeof value !== 'object' || value === null) throw typeError(COMPONENT, option, value, "an object such as { kind: 'echo' }");
  const behavior = value as Record<string, unknown>;
  switch (behavior['kind']) {
    case 'echo':
      return { kind: 'echo' };
    case 'delay':
      checkNonNegative(COMPONENT, `${option}.ms`, behavior['ms']);
      if (behavior['then'] !== undefined) checkBehavior(behavior['then'], `${option}.then`);
      return value as A2aBehavior;
    case 'fail':
      if (behavior['message'] !== undefined && typeof behavior['message'] !== 'string') throw typeError(COMPONENT, `${option}.message`, behavior['message'], 'a string');
      return value as A2aBehavior;
    case 'task': {
      const steps = behavior['steps'];
      if (steps !== undefined && (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 0 || steps > 1000)) {
        throw rangeError(COMPONENT, `${option}.steps`, steps, 'an integer from 0 to 1000');
      }
      if (behavior['stepDelayMs'] !== undefined) checkNonNegative(COMPONENT, `${option}.stepDelayMs`, behavior['stepDelayMs']);
      const finalState = behavior['finalState'];
      if (finalState !== undefined && finalState !== 'completed' && finalState !== 'failed') {
        throw typeError(COMPONENT, `${option}.finalState`, finalState, '"completed" or "failed"');
      }
      return value as A2aBehavior;
    }
    default:
      throw typeError(COMPONENT, `${option}.kind`, behavior['kind'], '"echo", "delay", "fail" or "task"');
  }
}

function textPart(text: string): Part {
  return { content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' };
}

/** The text of the first text part of `message` ('' when there is none). */
export function messageText(message: Message | undefined): string {
  for (const part of message?.parts ?? []) if (part.content?.$case === 'text') return part.content.value;
  return '';
}

function agentMessage(text: string, contextId: string, taskId = ''): Message {
  return { messageId: randomUUID(), contextId, taskId, role: Role.ROLE_AGENT, parts: [textPart(text)], metadata: undefined, extensions: [], referenceTaskIds: [] };
}

/**
 * A real A2A agent on loopback, built with `@a2a-js/sdk`'s server (Express 5): agent card at
 * `/.well-known/agent-card.json`, JSON-RPC at {@link A2A_JSONRPC_PATH}, REST at {@link A2A_REST_PATH},
 * an in-memory task store, and an executor whose behaviour tests switch at runtime. It records every
 * request's headers (to check that a client propagated `traceparent`).
 */
export class A2aPeer {
  readonly #name: string;
  readonly #host: string;
  #port: number;
  #behavior: A2aBehavior;
  #card: AgentCard | undefined;
  #router: RequestHandler | undefined;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #running = new Map<string, { readonly controller: AbortController; readonly contextId: string }>();
  readonly #lifetime = new AbortController();
  readonly #received: A2aPeerRequest[] = [];
  readonly #requestSeen = new Emitter<A2aPeerRequest>();
  #state: 'new' | 'started' | 'stopped' = 'new';

  constructor(options: A2aPeerOptions = {}) {
    if (typeof options !== 'object' || options === null) throw typeError(COMPONENT, 'options', options, 'an object');
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) throw typeError(COMPONENT, 'name', options.name, 'a non-empty string');
    this.#name = options.name ?? 'phlow-testkit-peer';
    this.#host = options.host === undefined ? '127.0.0.1' : checkHost(COMPONENT, 'host', options.host);
    this.#port = options.port === undefined ? 0 : checkPort(COMPONENT, 'port', options.port);
    this.#behavior = options.behavior === undefined ? { kind: 'echo' } : checkBehavior(options.behavior);

    const app = express();
    app.disable('x-powered-by');
    app.use((req, _res, next) => {
      const request = { method: req.method, url: req.originalUrl, headers: { ...req.headers } };
      this.#received.push(request);
      this.#requestSeen.emit(request);
      next();
    });
    // The SDK's handlers need the card, which names the port, known only once listening.
    app.use((req, res, next) => {
      if (this.#router === undefined) res.status(503).json({ error: `${COMPONENT} is not started` });
      else this.#router(req, res, next);
    });
    this.#server = createServer(app);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** Starts listening and mounts the SDK's card, JSON-RPC and REST handlers. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`${COMPONENT}: start() called on a peer that is ${this.#state}`);
    this.#state = 'started';
    this.#port = await listen(this.#server, this.#port, this.#host);
    const card = this.#buildCard();
    this.#card = card;
    const executor: AgentExecutor = {
      execute: (context, bus) => this.#execute(context, bus),
      cancelTask: async (taskId, bus) => this.#cancel(taskId, bus),
    };
    const requestHandler = new DefaultRequestHandler(card, new InMemoryTaskStore(), executor);
    const router = express.Router();
    router.use('/.well-known/agent-card.json', agentCardHandler({ agentCardProvider: requestHandler }));
    router.use(A2A_JSONRPC_PATH, jsonRpcHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
    router.use(A2A_REST_PATH, restHandler({ requestHandler, userBuilder: UserBuilder.noAuthentication }));
    this.#router = router;
  }

  /** Ends running executions, closes every connection (also open streams) and the listener. Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasStarted = this.#state === 'started';
    this.#state = 'stopped';
    this.#lifetime.abort();
    for (const socket of this.#sockets) socket.destroy();
    if (wasStarted) await close(this.#server);
  }

  /** The same as {@link A2aPeer.stop}, so `await using` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Base URL, e.g. `http://127.0.0.1:4000`; give it to `ClientFactory.createFromUrl`. */
  get url(): string {
    return `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  /** The port listened on. */
  get port(): number {
    return this.#port;
  }

  /** The agent card served (available after start). */
  get agentCard(): AgentCard {
    if (this.#card === undefined) throw new Error(`${COMPONENT}: call start() first`);
    return this.#card;
  }

  /** The behaviour in force. */
  get behavior(): A2aBehavior {
    return this.#behavior;
  }

  /** Switches the behaviour for messages received from now on. */
  setBehavior(behavior: A2aBehavior): void {
    this.#behavior = checkBehavior(behavior);
  }

  /** Requests received so far, oldest first. */
  get requests(): readonly A2aPeerRequest[] {
    return this.#received;
  }

  /** Forgets the recorded requests. */
  clearRequests(): void {
    this.#received.length = 0;
  }

  /** Calls `listener` for every request as it arrives. */
  onRequest(listener: (request: A2aPeerRequest) => void): Disposable {
    return this.#requestSeen.subscribe(listener);
  }

  #buildCard(): AgentCard {
    return agentCard({
      name: this.#name,
      description: 'A2A peer from @phlow/testkit: echoes, delays, fails or runs a task on demand.',
      jsonRpcUrl: `${this.url}${A2A_JSONRPC_PATH}`,
      restUrl: `${this.url}${A2A_REST_PATH}`,
      skills: [{ id: 'echo', name: 'Echo', description: 'Answers with the text it was sent.', tags: ['test'], examples: ['hello'] }],
    });
  }

  async #execute(context: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const controller = new AbortController();
    this.#running.set(context.taskId, { controller, contextId: context.contextId });
    const signal = AbortSignal.any([controller.signal, this.#lifetime.signal]);
    try {
      await this.#run(this.#behavior, context, bus, signal);
    } catch (error) {
      // A wait ended by stop() or cancelTask is not an agent failure: end quietly (cancel published its state).
      if (signal.aborted) return;
      throw error;
    } finally {
      this.#running.delete(context.taskId);
    }
  }

  async #run(behavior: A2aBehavior, context: RequestContext, bus: ExecutionEventBus, signal: AbortSignal): Promise<void> {
    const { contextId, taskId } = context;
    const text = messageText(context.userMessage);
    switch (behavior.kind) {
      case 'echo':
        bus.publish(AgentEvent.message(agentMessage(`echo: ${text}`, contextId)));
        return;
      case 'delay':
        await sleep(behavior.ms, undefined, { signal });
        return this.#run(behavior.then ?? { kind: 'echo' }, context, bus, signal);
      case 'fail':
        throw new Error(behavior.message ?? 'A2aPeer: failing on purpose');
      case 'task': {
        const now = (): string => new Date().toISOString();
        const task: Task = {
          id: taskId,
          contextId,
          status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: now() },
          artifacts: [],
          history: [context.userMessage],
          metadata: undefined,
        };
        if (context.task === undefined) bus.publish(AgentEvent.task(task));
        bus.publish(AgentEvent.statusUpdate({ taskId, contextId, status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: now() }, metadata: undefined }));
        const steps = behavior.steps ?? 2;
        for (let step = 1; step <= steps; step++) {
          if (behavior.stepDelayMs !== undefined && behavior.stepDelayMs > 0) {
            await sleep(behavior.stepDelayMs, undefined, { signal });
          }
          bus.publish(
            AgentEvent.artifactUpdate({
              taskId,
              contextId,
              artifact: { artifactId: `step-${step}`, name: `step ${step}`, description: '', parts: [textPart(`step ${step} of ${steps}: ${text}`)], metadata: undefined, extensions: [] },
              append: false,
              lastChunk: step === steps,
              metadata: undefined,
            }),
          );
        }
        const failed = behavior.finalState === 'failed';
        bus.publish(
          AgentEvent.statusUpdate({
            taskId,
            contextId,
            status: {
              state: failed ? TaskState.TASK_STATE_FAILED : TaskState.TASK_STATE_COMPLETED,
              message: agentMessage(failed ? `failed: ${text}` : `done: ${text}`, contextId, taskId),
              timestamp: now(),
            },
            metadata: undefined,
          }),
        );
        return;
      }
    }
  }

  #cancel(taskId: string, bus: ExecutionEventBus): void {
    const running = this.#running.get(taskId);
    running?.controller.abort();
    bus.publish(
      AgentEvent.statusUpdate({
        taskId,
        contextId: running?.contextId ?? '',
        status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date().toISOString() },
        metadata: undefined,
      }),
    );
  }
}
