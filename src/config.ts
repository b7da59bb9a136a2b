import { z } from 'zod';

// Every environment variable the service reads, parsed and validated once. Nothing else in
// src/ reads process.env.

const seconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === '' ? undefined : value));
const commaList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().default('0.0.0.0'),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    DATA_DIR: z.string().default('.data'),
    EMBEDDED_POSTGRES_PORT: z.coerce.number().int().min(1).max(65535).default(54329),
    REDIS_URL: optionalString.pipe(z.url({ protocol: /^rediss?$/ }).optional()),
    REDIS_CHANNEL_PREFIX: z.string().default('notifications:'),
    JWT_SECRET: optionalString.pipe(
      z.string().min(32, 'must be at least 32 characters').optional(),
    ),
    JWT_JWKS_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    SERVICE_API_KEYS: commaList.pipe(
      z.array(z.string().min(16, 'each key must be at least 16 characters')),
    ),
    MAX_CONNECTIONS_PER_USER: z.coerce.number().int().positive().default(5),
    DEFAULT_DELETE_AFTER_SECONDS: seconds(30 * 24 * 3600),
    RETENTION_INTERVAL_SECONDS: seconds(60),
    EVENT_LOG_RETENTION_SECONDS: seconds(7 * 24 * 3600),
    INSTANCE_HEARTBEAT_SECONDS: seconds(10),
    SHUTDOWN_TIMEOUT_SECONDS: seconds(10),
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.JWT_SECRET || env.JWT_JWKS_URL, {
    message: 'JWT_SECRET or JWT_JWKS_URL is required when NODE_ENV=production',
    path: ['JWT_SECRET'],
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.DATABASE_URL, {
    message: 'DATABASE_URL is required when NODE_ENV=production',
    path: ['DATABASE_URL'],
  });

export type Config = z.infer<typeof environmentSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

/** Parses the environment; throws a ConfigError naming each wrong variable and why. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): Config {
  // `PORT=` in an .env file means "not set", not "port 0".
  const set = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== ''));
  const result = environmentSchema.safeParse(set);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map(
      (issue) => `${issue.path.join('.') || 'environment'}: ${issue.message}`,
    ),
  );
}
