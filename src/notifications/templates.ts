import type { Database } from '../db/client.js';
import type { Catalog } from './catalog.js';
import { DomainError } from '../errors.js';
import { LIMITS, badInput, checkName, checkText, checkTitle } from './validation.js';

export interface TemplateInput {
  key: string;
  title: string;
  body?: string | null;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

/**
 * Title and body are plain text, which clients render as text (never as HTML: the reference
 * inbox uses textContent). What a variable could still do there is reshape the text: control
 * characters and bidirectional overrides (which can make "exe.pdf" read as "fdp.exe") are
 * removed from variables, and line breaks become spaces.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_IN_TEXT = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const asText = (value: unknown) =>
  (typeof value === 'object' ? JSON.stringify(value) : String(value))
    .replace(/\r\n|\r|\n/g, ' ')
    .replace(UNSAFE_IN_TEXT, '');

export async function upsertTemplate(
  { database, catalog }: { database: Database; catalog: Pick<Catalog, 'changed'> },
  input: TemplateInput,
) {
  checkName('key', input.key);
  checkTitle(input.title);
  checkText('body', input.body, LIMITS.bodyLength);
  const text = { title: input.title, body: input.body ?? null };
  const template = await database.template.upsert({
    where: { key: input.key },
    create: { key: input.key, ...text },
    update: text,
  });
  await catalog.changed();
  return template;
}

/**
 * Deletes a template. Notifications sent with it keep their text (it was filled in when sent);
 * a send that names it from now on is refused (BAD_USER_INPUT).
 */
export async function deleteTemplate(
  { database, catalog }: { database: Database; catalog: Pick<Catalog, 'changed'> },
  key: string,
) {
  try {
    const template = await database.template.delete({ where: { key } });
    await catalog.changed();
    return template;
  } catch (error) {
    if ((error as { code?: string }).code === 'P2025') {
      throw new DomainError('NOT_FOUND', `no template "${key}"`);
    }
    throw error;
  }
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
    return asText(value);
  });
  if (missing.size > 0) badInput(`template variables missing: ${[...missing].join(', ')}`);
  return rendered;
}

export async function renderStoredTemplate(
  catalog: Pick<Catalog, 'template'>,
  key: string,
  variables: unknown,
) {
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) {
    badInput('variables must be a JSON object');
  }
  const template = await catalog.template(key);
  if (!template) badInput(`no template "${key}"`);
  const values = (variables ?? {}) as Record<string, unknown>;
  return {
    title: renderTemplate(template.title, values),
    body: template.body === null ? null : renderTemplate(template.body, values),
  };
}
