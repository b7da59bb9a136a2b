import type { Database } from '../db/client.js';
import { LIMITS, badInput, checkName, checkText, checkTitle } from './validation.js';

export interface TemplateInput {
  key: string;
  title: string;
  body?: string | null;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export function upsertTemplate(database: Database, input: TemplateInput) {
  checkName('key', input.key);
  checkTitle(input.title);
  checkText('body', input.body, LIMITS.bodyLength);
  const text = { title: input.title, body: input.body ?? null };
  return database.template.upsert({
    where: { key: input.key },
    create: { key: input.key, ...text },
    update: text,
  });
}

/**
 * Fills `{{name}}` placeholders from `variables`. A placeholder without a variable is an error:
 * a notification saying "Hello ," is worse than none.
 */
export function renderTemplate(text: string, variables: Record<string, unknown>): string {
  const missing = new Set<string>();
  const rendered = text.replace(PLACEHOLDER, (_match, name: string) => {
    const value = variables[name];
    if (value === undefined || value === null) {
      missing.add(name);
      return '';
    }
    return typeof value === 'object' ? JSON.stringify(value) : String(value);
  });
  if (missing.size > 0) badInput(`template variables missing: ${[...missing].join(', ')}`);
  return rendered;
}

export async function renderStoredTemplate(database: Database, key: string, variables: unknown) {
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) {
    badInput('variables must be a JSON object');
  }
  const template = await database.template.findUnique({ where: { key } });
  if (!template) badInput(`no template "${key}"`);
  const values = (variables ?? {}) as Record<string, unknown>;
  return {
    title: renderTemplate(template.title, values),
    body: template.body === null ? null : renderTemplate(template.body, values),
  };
}
