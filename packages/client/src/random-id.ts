/** An id to tell things apart, not a secret: works outside secure contexts, unlike randomUUID. */
export const randomId = (): string => Math.random().toString(36).slice(2);
