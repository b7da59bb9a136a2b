/** Who is calling: a signed-in user (from a JWT), a service (from an API key), or nobody. */
export type Viewer =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; admin: boolean; sessionId?: string }
  | { kind: 'service'; service: string };

export const anonymous: Viewer = { kind: 'anonymous' };

/** Why a credential was refused; the text is safe to show to the caller. */
export class AuthenticationError extends Error {}
