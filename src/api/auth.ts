/**
 * Who may do what. A bearer token maps to a principal (a tenant and a role); each request names an action;
 * `allows` is the whole policy, one table, default deny. Tenant scoping (a submitter sees only its own
 * tenant's jobs) is `seesTenant`.
 *
 * Tokens are kept only as SHA-256 digests: the table never holds a token itself, and a lookup compares
 * digests of fixed length (no early exit on the first differing character of a secret).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ApiError } from './api-error.js';
import { apiError } from './api-error.js';
import { nodeMatcher } from './node-globs.js';

export const ROLES = ['admin', 'submitter', 'viewer', 'agent'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  readonly tenant: string;
  readonly role: Role;
  /**
   * Who holds the token, as a stable opaque string (a digest of it): the same agent reconnecting has the
   * same identity. Absent for principals made by hand (tests).
   */
  readonly identity?: string;
  /** An agent's nodes: whether it may register `node` (admins may register any; other roles none). */
  readonly mayRegister?: (node: string) => boolean;
}

export interface TokenEntry {
  readonly token: string;
  readonly tenant: string;
  readonly role: Role;
  /** For `agent` tokens: the node names it may register, exact or globs with `*` (node-globs.ts). */
  readonly nodes?: readonly string[];
}

export type Action =
  /** Submit jobs (and, for an admin, on behalf of another tenant). */
  | 'submit'
  | 'cancel'
  | 'watch'
  /** Read jobs (scoped by tenant for a submitter). */
  | 'read-jobs'
  /** Read queues, nodes, sites, the leader. */
  | 'read-cluster'
  | 'metrics'
  /** Speak the agent protocol. */
  | 'agent'
  /** Change the cluster: drain and undrain nodes, define queues. */
  | 'administer';

/** The whole policy: what each role may do. Anything not listed is denied. */
const GRANTS: Readonly<Record<Role, ReadonlySet<Action>>> = {
  admin: new Set<Action>(['submit', 'cancel', 'watch', 'read-jobs', 'read-cluster', 'metrics', 'agent', 'administer']),
  submitter: new Set<Action>(['submit', 'cancel', 'watch', 'read-jobs', 'read-cluster']),
  viewer: new Set<Action>(['watch', 'read-jobs', 'read-cluster', 'metrics']),
  agent: new Set<Action>(['agent']),
};

export function allows(principal: Principal, action: Action): boolean {
  return GRANTS[principal.role].has(action);
}

/** Whether the principal may see (and, with the right action, change) jobs of `tenant`. */
export function seesTenant(principal: Principal, tenant: string): boolean {
  return principal.role === 'admin' || principal.role === 'viewer' || principal.tenant === tenant;
}

/** `MUSTER_ERR_FORBIDDEN` unless the principal may take `action`. */
export function authorize(principal: Principal, action: Action): ApiError | undefined {
  return allows(principal, action) ? undefined : apiError('MUSTER_ERR_FORBIDDEN', `role ${principal.role} may not ${action.replace('-', ' ')}`);
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

export class TokenTable {
  readonly #byDigest = new Map<string, Principal>();

  constructor(entries: readonly TokenEntry[]) {
    for (const { token, tenant, role, nodes } of entries) {
      const identity = digest(token);
      const principal: Principal = { tenant, role, identity, ...(role === 'agent' ? { mayRegister: nodeMatcher(nodes ?? []) } : {}) };
      this.#byDigest.set(identity, principal);
    }
  }

  get size(): number {
    return this.#byDigest.size;
  }

  lookup(token: string): Principal | undefined {
    return this.#byDigest.get(digest(token));
  }

  /**
   * The principal of a request from its `Authorization` header (`Bearer TOKEN`) or, failing that, its
   * `token` query parameter (for WebSocket clients that cannot set headers); `MUSTER_ERR_UNAUTHORIZED`
   * when neither carries a known token.
   */
  authenticate(authorization: string, queryToken: string): Principal | ApiError {
    let token = '';
    if (authorization !== '') {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!match) return apiError('MUSTER_ERR_UNAUTHORIZED', 'the Authorization header must be "Bearer TOKEN"');
      token = match[1]!;
    } else {
      token = queryToken;
    }
    if (token === '') return apiError('MUSTER_ERR_UNAUTHORIZED', 'a bearer token is required (Authorization: Bearer TOKEN)');
    return this.lookup(token) ?? apiError('MUSTER_ERR_UNAUTHORIZED', 'the token is not known to this server');
  }
}

/** Whether the principal may register (speak for) node `node`: admins any, agents those their token names. */
export function mayRegister(principal: Principal, node: string): boolean {
  if (principal.role === 'admin') return true;
  return principal.role === 'agent' && principal.mayRegister !== undefined && principal.mayRegister(node);
}

export function isApiError(value: Principal | ApiError): value is ApiError {
  return 'code' in value;
}

/**
 * A new random token: 32 bytes, base64url (43 characters). Never one that starts with `-`: one in 64
 * would otherwise, and `--token TOKEN` on a command line would then read it as an option.
 */
export function newToken(): string {
  for (;;) {
    const token = randomBytes(32).toString('base64url');
    if (!token.startsWith('-')) return token;
  }
}
