/**
 * A replica on an etcd that speaks only TLS and asks for client certificates (`--client-cert-auth`): the
 * replica's client and the snapshot fold's own client on the CPU pool both connect with the CA, the
 * certificate and the key of `etcd.tls`; a client without a certificate is refused by etcd. Certificates are
 * made for the test with openssl (a CA, a server certificate for 127.0.0.1, a client certificate).
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Etcd3 } from 'etcd3';
import { createLogger } from '../../src/log/index.js';
import { resolveConfig } from '../../src/server/index.js';
import { RunningReplica } from '../../src/server/replica.js';
import { etcdClient } from '../../src/store/index.js';
import { ETCD_BIN, freePort } from '../helpers/etcd-cluster.js';
import { until } from '../helpers/until.js';
import { ADMIN, get } from './replica-fixture.js';

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function certificates(dir: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=muster-test-ca');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, ext] of [['server', 'server.ext'], ['client', 'client.ext']] as const) {
    openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', ext);
  }
}

t.test('a replica on a TLS-only etcd with client-certificate auth leads, serves and snapshots', async (t) => {
  const dir = t.testdir({ data: {} });
  certificates(dir);
  const client = `https://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  // prettier-ignore
  const etcd = spawn(ETCD_BIN, [
    '--name', 'tls', '--data-dir', join(dir, 'etcd'), '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `tls=${peer}`,
    '--cert-file', join(dir, 'server.pem'), '--key-file', join(dir, 'server.key'), '--trusted-ca-file', join(dir, 'ca.pem'), '--client-cert-auth',
    '--log-level', 'warn', '--logger', 'zap',
  ], { stdio: 'ignore' });
  const gone = new Promise((r) => etcd.once('exit', r));
  t.teardown(async () => {
    etcd.kill('SIGKILL');
    await gone;
  });
  const tls = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') };
  const probe = etcdClient({ endpoints: [client], tls });
  t.teardown(() => probe.close());
  await until('etcd to answer over TLS', () => probe.get('probe').string().then(() => true, () => false), (ok) => ok);

  const noCert = new Etcd3({ hosts: [client], credentials: { rootCertificate: Buffer.from(execFileSync('cat', [tls.caFile])) } });
  await t.rejects(noCert.put('k').value('v').exec(), 'a client without a certificate is refused by etcd');
  noCert.close();

  const tokens = join(dir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify([{ token: ADMIN, tenant: 'ops', role: 'admin' }]));
  const config = join(dir, 'server.json');
  writeFileSync(config, JSON.stringify({ tokens, workers: 1, snapshot: { everyEvents: 5, everySeconds: 1 }, etcd: { endpoints: [client], tls } }));
  const lines: { msg: string; level: number }[] = [];
  const log = createLogger({ name: 'replica', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  const replica = await RunningReplica.start({ ...(await resolveConfig({ config, data: join(dir, 'data'), port: 0 })) }, {}, log);
  t.teardown(() => replica.stop());
  await until('the replica to lead', () => get(replica.url, '/v1/leader'), (r) => r.body?.role === 'leader');
  const submitted = await fetch(`${replica.url}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ jobs: Array.from({ length: 10 }, (_, i) => ({ queue: 'default', idempotencyKey: `tls-${i}`, tasks: [{ resources: { cpu: '1' }, command: ['true'] }] })) }),
  });
  t.equal(submitted.status, 200, 'jobs acknowledged: written to etcd over TLS');
  await until('a snapshot folded on the pool with its own TLS client', async () => lines.some((l) => l.msg === 'snapshot written, log compacted'), (done) => done);
  t.same(lines.filter((l) => l.level >= 50), [], 'nothing logged at error');
});
