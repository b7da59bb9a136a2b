// Queries and mutations over HTTP POST, with the token the app gives for this request.

/** A failure the app may show or act on; `code` is the service's `extensions.code` if it sent one. */
export class InboxError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'InboxError';
  }
}

interface GraphQLResponse {
  data?: unknown;
  errors?: { message: string; extensions?: { code?: unknown } }[];
}

export async function postGraphQL<T>(
  fetchImpl: typeof fetch,
  url: string,
  token: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new InboxError('NETWORK_ERROR', `the service did not answer: ${String(error)}`);
  }
  const body = (await response.json().catch(() => null)) as GraphQLResponse | null;
  const [first] = body?.errors ?? [];
  if (first) {
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
    throw new InboxError(code ?? httpCode(response.status), first.message);
  }
  if (!response.ok || !body?.data) {
    throw new InboxError(httpCode(response.status), `HTTP ${response.status} from the service`);
  }
  return body.data as T;
}

function httpCode(status: number): string {
  return status === 401 ? 'UNAUTHENTICATED' : 'HTTP_ERROR';
}
