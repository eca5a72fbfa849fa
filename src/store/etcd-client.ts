/**
 * How muster connects to etcd: the endpoints, a dial deadline, and TLS when the endpoints are `https://`
 * (the CA that signed etcd's certificate; for etcd's client-certificate auth, this replica's certificate and
 * key). The files are read here, so a thread that makes its own client (a snapshot fold on the CPU pool)
 * needs only the paths.
 */
import { readFileSync } from 'node:fs';
import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';
import { MusterError } from '../errors/index.js';

export interface EtcdTls {
  /** PEM: the CA certificate(s) etcd's certificate is checked against. */
  readonly caFile: string;
  /** PEM: this client's certificate (etcd's `--client-cert-auth`), with `keyFile`. */
  readonly certFile?: string;
  readonly keyFile?: string;
}

export interface EtcdConnection {
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTls;
}

/** How long a connection to an etcd member may take before the next is tried. */
export const ETCD_DIAL_TIMEOUT_MS = 2_000;

/**
 * After 3 failures in a row a member is skipped for this long, then tried again. The client's default, 5 s,
 * is as long as a whole call's deadline (ETCD_CALL_DEADLINE_MS): when one member is killed, etcd elects a new
 * leader and the others fail a few calls meanwhile, every member's breaker opened and a writer failed
 * although two of three members were up (seen in the follower test under load). Retries with deadlines
 * are muster's own (etcd-calls.ts), so the client's global retry is off.
 */
export const ETCD_MEMBER_PAUSE_MS = 500;

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MusterError('MUSTER_ERR_INVALID_SPEC', `etcd.tls.${what}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function etcdClient(connection: EtcdConnection): Etcd3 {
  const { tls } = connection;
  return new Etcd3({
    hosts: [...connection.endpoints],
    dialTimeout: ETCD_DIAL_TIMEOUT_MS,
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: ETCD_MEMBER_PAUSE_MS, breaker: new ConsecutiveBreaker(3) }),
      global: noop,
    },
    ...(tls
      ? {
          credentials: {
            rootCertificate: read(tls.caFile, 'caFile'),
            ...(tls.certFile !== undefined ? { certChain: read(tls.certFile, 'certFile') } : {}),
            ...(tls.keyFile !== undefined ? { privateKey: read(tls.keyFile, 'keyFile') } : {}),
          },
        }
      : {}),
  });
}
