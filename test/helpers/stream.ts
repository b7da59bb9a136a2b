import type { Client, FormattedExecutionResult as ExecutionResult } from 'graphql-ws';

/** What a Stream needs of a transport: graphql-ws's Client has it, so does sseClient(). */
export type Subscriber = Pick<Client, 'subscribe'>;

export interface StreamOptions<T> {
  /** Turns a result as it arrived into the one a test reads (e.g. an alias back to the field). */
  map?: (result: ExecutionResult<Record<string, unknown>, unknown>) => ExecutionResult<T, unknown>;
  /** Results that are a helper's business (probes), kept aside in `ignored`. */
  ignore?: (result: ExecutionResult<T, unknown>) => boolean;
  /** Runs after close(): e.g. closes a socket opened for this stream alone. */
  onClose?: () => void;
}

/** A subscription's failure as a test can read it (a socket's CloseEvent prints as `{}`). */
function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const { code, reason } = error as { code: unknown; reason?: unknown };
    return `socket closed with ${String(code)} ${String(reason ?? '')}`;
  }
  return JSON.stringify(error);
}

/**
 * A subscription whose results are collected as they arrive, so a test can wait for the next
 * ones or assert that nothing else came.
 */
export class Stream<T = Record<string, unknown>> {
  readonly results: ExecutionResult<T, unknown>[] = [];
  /** Results `options.ignore` set aside. */
  readonly ignored: ExecutionResult<T, unknown>[] = [];
  error?: unknown;
  completed = false;
  private waiters: (() => void)[] = [];
  private readonly unsubscribe: () => void;
  private readonly onClose?: () => void;

  constructor(
    client: Subscriber,
    query: string,
    variables?: Record<string, unknown>,
    options: StreamOptions<T> = {},
  ) {
    this.onClose = options.onClose;
    const map = options.map ?? ((result) => result as ExecutionResult<T, unknown>);
    this.unsubscribe = client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (raw) =>
          this.push(() => {
            const result = map(raw);
            (options.ignore?.(result) ? this.ignored : this.results).push(result);
          }),
        error: (error) => this.push(() => (this.error = error)),
        complete: () => this.push(() => (this.completed = true)),
      },
    );
  }

  private push(change: () => void) {
    change();
    for (const wake of this.waiters.splice(0)) wake();
  }

  /**
   * Resolves once `done()` holds, checked whenever something arrives; fails if the subscription
   * fails or completes first, or after `timeoutMs`, saying it waited for `what`.
   */
  async waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const got = `got ${this.results.length} results (${this.ignored.length} ignored)`;
      if (this.error) {
        throw new Error(`subscription failed waiting for ${what}: ${describeFailure(this.error)}`);
      }
      if (this.completed) throw new Error(`subscription completed waiting for ${what}; ${got}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`waited ${timeoutMs} ms for ${what}; ${got}`);
      await this.change(left);
    }
  }

  /** Resolves when something arrives, or after `ms`. */
  private change(ms: number) {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves once `count` results have arrived in all; fails after `timeoutMs`. */
  async waitForCount(count: number, timeoutMs = 5000): Promise<ExecutionResult<T, unknown>[]> {
    await this.waitFor(() => this.results.length >= count, timeoutMs, `${count} results`);
    return this.results.slice(0, count);
  }

  /** Resolves when the subscription ends with an error (or fails after `timeoutMs`). */
  async waitForError(timeoutMs = 5000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `waited ${timeoutMs} ms for the subscription to fail; got ${this.results.length} results${this.completed ? ', then complete' : ''}`,
        );
      }
      await this.change(left);
    }
    return this.error;
  }

  close() {
    this.unsubscribe();
    this.onClose?.();
  }
}
