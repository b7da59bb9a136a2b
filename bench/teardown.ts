// What a part of the bench starts (servers, clusters, service processes) is stopped at its end,
// when it fails, and when the bench is interrupted: nothing it started may outlive it, nor keep
// a port taken.

export class Teardown {
  private readonly steps: (() => Promise<unknown>)[] = [];
  private running?: Promise<void>;

  /** Keeps `stop` for the end and hands `resource` back; once the end has come, stops it now. */
  add<T>(resource: T, stop: (resource: T) => Promise<unknown>): T {
    this.steps.push(() => stop(resource));
    if (this.running) this.running = this.running.then(() => this.stopAll());
    return resource;
  }

  /**
   * Stops everything added, last first; one that fails to stop does not keep the rest running.
   * A signal and the part's own failure may both ask: both wait for the same stopping.
   */
  run(): Promise<void> {
    this.running ??= this.stopAll();
    return this.running;
  }

  private async stopAll() {
    for (const step of this.steps.splice(0).reverse()) {
      await step().catch((error: unknown) => console.error(`teardown: ${String(error)}`));
    }
  }
}

/**
 * Runs `part` with a Teardown that runs when it ends, however it ends: returned, thrown, or
 * SIGINT/SIGTERM to the bench (then the bench exits, as the signal asked).
 */
export async function withTeardown<T>(part: (teardown: Teardown) => Promise<T>): Promise<T> {
  const teardown = new Teardown();
  const interrupted = (signal: NodeJS.Signals) => {
    console.error(`${signal}: stopping what this part started`);
    void teardown.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    return await part(teardown);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await teardown.run();
  }
}
