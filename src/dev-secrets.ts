import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateApiKey } from './auth/api-keys.js';
import type { Config } from './config.js';

// With nothing configured outside production, the service invents a JWT secret and a service
// API key once and keeps them in the data folder, so tokens stay valid across restarts.

interface DevSecrets {
  jwtSecret: string;
  apiKey: string;
}

async function loadOrCreate(dataDir: string): Promise<DevSecrets> {
  const file = path.resolve(dataDir, 'dev-secrets.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as DevSecrets;
  const secrets = { jwtSecret: randomBytes(32).toString('base64url'), apiKey: generateApiKey() };
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/** Fills JWT_SECRET and SERVICE_API_KEYS from the dev secrets file when both are unset. */
export async function withDevSecrets(config: Config): Promise<Config> {
  if (config.NODE_ENV === 'production') return config;
  const needsSecret = !config.JWT_SECRET && !config.JWT_JWKS_URL;
  const needsKey = config.SERVICE_API_KEYS.length === 0;
  if (!needsSecret && !needsKey) return config;
  const secrets = await loadOrCreate(config.DATA_DIR);
  return {
    ...config,
    JWT_SECRET: needsSecret ? secrets.jwtSecret : config.JWT_SECRET,
    SERVICE_API_KEYS: needsKey ? [secrets.apiKey] : config.SERVICE_API_KEYS,
  };
}
