// Preloaded (`--import`) into every process whose memory the benchmark measures, so the service
// itself needs no bench-only code. On request over the IPC channel it collects garbage (the
// process runs with --expose-gc) and answers with process.memoryUsage(): heap after GC is what
// connections hold; RSS also counts what V8 and the allocator have not given back.

export interface MemorySample {
  heapUsed: number;
  external: number;
  rss: number;
}

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'bench:memory') return;
  // Twice: the first pass can leave work for finalizers that the second collects.
  globalThis.gc?.();
  globalThis.gc?.();
  const { heapUsed, external, rss } = process.memoryUsage();
  const sample: MemorySample = { heapUsed, external, rss };
  process.send?.({ type: 'bench:memory', sample });
});
