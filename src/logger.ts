import { pino } from 'pino';

export type Logger = pino.Logger;

/** One JSON line per event; credentials are redacted wherever they appear in a logged request. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'notification-service' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["x-api-key"]',
          'req.headers.cookie',
          'connectionParams.authorization',
          'token',
          'apiKey',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
