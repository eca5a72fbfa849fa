/**
 * How muster connects to etcd: the endpoints, a dial deadline, and TLS when the endpoints are `https://`
 * (the CA that signed etcd's certificate; for etcd's client-certificate auth, this replica's certificate and
 * key). The files are read here, so a thread that makes its own client (a snapshot fold on the CPU pool)
 * needs only the paths.
 */
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
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
