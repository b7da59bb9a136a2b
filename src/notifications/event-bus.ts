import type { StreamEvent } from './types.js';

// A port of the domain: publish and preferences need a bus; realtime/ provides the local and
// the Redis one.

export type StreamListener = (event: StreamEvent) => void;
export type HeadListener = (seq: bigint) => void;

/** Carries committed events to the subscribers of their stream. */
export interface EventBus {
  /** Connects the transport, if there is one. */
  start(): Promise<void>;
  /** Answers when the transport does; absent when there is none to check. */
  ping?(): Promise<void>;
  /**
   * Hands committed events to every instance. Resolves once they are handed over or, when the
   * transport refused them, queued to be published again; it does not throw for the transport.
   * A transport sends them in messages of at most MAX_BUS_MESSAGE_BYTES (realtime/codec.ts).
   */
  publish(events: StreamEvent[]): Promise<void>;
  /** Calls `listener` for each event of `stream` published from now on; returns unsubscribe. */
  subscribe(stream: string, listener: StreamListener): () => void;
  /**
   * Tells the subscribers of `stream` on every instance that something about it changed outside
   * the event log (a user's preferences), so they read it again.
   */
  signal(stream: string): Promise<void>;
  onSignal(stream: string, listener: () => void): () => void;
  /**
   * Calls `listener` when events may have been missed (the transport was down), so subscribers
   * catch up from the log; returns unsubscribe.
   */
  onResync(listener: () => void): () => void;
  /**
   * Calls `listener` with the head of `stream` in the log (its last seq) when this process has
   * not received every event of it up to there (a message was lost), so a subscriber behind it
   * catches up from the log; returns unsubscribe.
   */
  onHead(stream: string, listener: HeadListener): () => void;
  close(): Promise<void>;
}
