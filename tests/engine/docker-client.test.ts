/**
 * How a docker client call is aimed: the environment each kind of target gets,
 * and which complaints of the client mean that the engine cannot be spoken to.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINE_DOWN, clientArgv, clientEnv } from '../../scripts/lib/engine/docker-client.js';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('clientEnv', () => {
  it("keeps the process's own environment when nothing is aimed", () => {
    expect(clientEnv()).toBeUndefined();
    expect(clientEnv({})).toBeUndefined();
  });

  it("aims at a host with the user's TLS settings (they are that engine's)", () => {
    Object.assign(process.env, { DOCKER_HOST: 'unix:///elsewhere.sock', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' });
    const env = clientEnv({ host: 'tcp://10.0.0.2:2376' })!;
    expect(env.DOCKER_HOST).toBe('tcp://10.0.0.2:2376');
    expect(env).toMatchObject({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs' });
  });

  it("reaches this machine's engine without the remote engine's host, context or TLS settings", () => {
    Object.assign(process.env, { DOCKER_HOST: 'tcp://10.0.0.2:2376', DOCKER_CONTEXT: 'vm', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/certs', DOCKER_TLS: '1' });
    const env = clientEnv({ stripEnv: true, context: 'default' })!;
    for (const k of ['DOCKER_HOST', 'DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_TLS']) expect(env, k).not.toHaveProperty(k);
    expect(clientArgv(['ps'], { context: 'default' })).toEqual(['--context', 'default', 'ps']);
  });
});

describe('ENGINE_DOWN', () => {
  it.each([
    'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?',
    'error during connect: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.41/info": dial unix: no such file',
    'Error response from daemon: Client sent an HTTP request to an HTTPS server.',
    'error during connect: Get "https://10.0.0.2:2376/v1.41/info": x509: certificate signed by unknown authority',
    'remote error: tls: bad certificate',
    'tls: failed to verify certificate: x509: certificate signed by unknown authority',
    'could not read CA certificate "/certs/ca.pem": open /certs/ca.pem: no such file or directory',
  ])('reads %j as an engine that cannot be reached', (line) => expect(ENGINE_DOWN.test(line)).toBe(true));

  it.each([
    'Error response from daemon: No such container: abc',
    'Error: No such image: x',
    'exit status 1',
    // A registry's certificate, reported by the daemon that did answer (a pull, a build's FROM).
    'Error response from daemon: Get "https://192.0.2.2:5443/v2/": x509: cannot validate certificate for 192.0.2.2 because it doesn\'t contain any IP SANs',
    'Using default tag: latest\nError response from daemon: Get "https://registry.example/v2/": remote error: tls: handshake failure',
  ])('does not read %j so', (line) => {
    expect(ENGINE_DOWN.test(line)).toBe(false);
  });
});
