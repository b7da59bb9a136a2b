import type { Client, FormattedExecutionResult as ExecutionResult } from 'graphql-ws';

/**
 * A subscription whose results are collected as they arrive, so a test can wait for the next
 * ones or assert that nothing else came.
 */
export class Stream<T = Record<string, unknown>> {
  readonly results: ExecutionResult<T, unknown>[] = [];
  error?: unknown;
  completed = false;
  private waiters: (() => void)[] = [];
  private readonly unsubscribe: () => void;

  constructor(client: Client, query: string, variables?: Record<string, unknown>) {
    this.unsubscribe = client.subscribe<T>(
      { query, variables },
      {
        next: (result) => this.push(() => this.results.push(result)),
        error: (error) => this.push(() => (this.error = error)),
        complete: () => this.push(() => (this.completed = true)),
      },
    );
  }

  private push(change: () => void) {
    change();
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves once `count` results have arrived in all; fails after `timeoutMs`. */
  async waitForCount(count: number, timeoutMs = 5000): Promise<ExecutionResult<T, unknown>[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.results.length < count) {
      if (this.error) throw new Error(`subscription failed: ${JSON.stringify(this.error)}`);
      if (this.completed) throw new Error(`subscription completed after ${this.results.length}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`waited ${timeoutMs} ms for ${count} results, got ${this.results.length}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.results.slice(0, count);
  }

  /** Resolves when the subscription ends with an error (or fails after `timeoutMs`). */
  async waitForError(timeoutMs = 5000): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (!this.error && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (!this.error) throw new Error('no error arrived');
    return this.error;
  }

  close() {
    this.unsubscribe();
  }
}
