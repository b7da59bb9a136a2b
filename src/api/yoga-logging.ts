import type { Logger } from '../logger.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
type YogaLog = Record<Level, (...args: unknown[]) => void>;

/**
 * Yoga logs the way console does, `error(message?, ...values)`, and often with only an Error.
 * pino takes `(object, message)`: an array or an Error passed as it is would be written as
 * `{"0":{}}`, with neither message nor stack. So strings become the message and the first Error
 * becomes `err`, which pino serialises with its type, message and stack.
 */
export function yogaLogging(logger: Logger): YogaLog {
  const at =
    (level: Level) =>
    (...args: unknown[]) => {
      const err = args.find((arg): arg is Error => arg instanceof Error);
      const message = args
        .map((arg) =>
          typeof arg === 'string' ? arg : err && arg === err ? err.message : undefined,
        )
        .filter((part) => part !== undefined)
        .join(' ');
      const rest = args.filter((arg) => typeof arg !== 'string' && arg !== err);
      logger[level]({ ...(err && { err }), ...(rest.length > 0 && { values: rest }) }, message);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
