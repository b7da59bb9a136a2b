import { DomainError } from '../errors.js';
import type { Context } from './context.js';

/** The signed-in user's id; fields that call it are already limited to users by authScopes. */
export function userOf({ viewer }: Context): string {
  if (viewer.kind !== 'user') throw new DomainError('FORBIDDEN', 'only users have notifications');
  return viewer.userId;
}
