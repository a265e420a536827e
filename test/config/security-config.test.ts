// The TLS and Kafka security settings: where their files are looked for, and where credentials may
// (files, environment) and may not (configuration, flags) come from.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { flagsToConfig } from '../../src/cli/commands/run.js';
import { ConfigError } from '../../src/errors.js';
import { kafkaSecurity } from '../../src/sources/kafka-security.js';

const dir = mkdtempSync(path.join(tmpdir(), 'actionclip-security-config-'));
const write = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('security settings in the configuration', () => {
  it('resolves TLS and Kafka security files relative to the YAML file', () => {
    const file = write(
      'tls.yaml',
      'weights: w\nlabels: [a]\nsecurity: { tls: { cert: certs/s.crt, key: /abs/s.key } }\n' +
        'kafka: { brokers: [k:9093], sasl: { mechanism: scram-sha-256, username: svc, passwordFile: secrets/kafka }, ssl: { ca: certs/ca.pem } }\n',
    );
    const c = loadConfig({ file });
    expect(c.security.tls).toEqual({ cert: path.join(dir, 'certs/s.crt'), key: '/abs/s.key' });
    expect(c.kafka?.sasl).toEqual({ mechanism: 'scram-sha-256', username: 'svc', passwordFile: path.join(dir, 'secrets/kafka') });
    expect(c.kafka?.ssl).toEqual({ ca: path.join(dir, 'certs/ca.pem') });
  });

  it('maps --tls-cert and --tls-key, and names the half that is missing', () => {
    const both = loadConfig({ overrides: { ...flagsToConfig({ camera: [], weights: 'w', labels: 'a', tlsCert: 'c.pem', tlsKey: 'k.pem' }) } });
    expect(both.security.tls).toEqual({ cert: 'c.pem', key: 'k.pem' });
    expect(loadConfig({ overrides: flagsToConfig({ camera: [], weights: 'w', labels: 'a' }) }).security.tls).toBeUndefined();
    expect(() => loadConfig({ overrides: flagsToConfig({ camera: [], weights: 'w', labels: 'a', tlsCert: 'c.pem' }) })).toThrow('security.tls.key: the private key file (PEM) of the certificate is required (--tls-key)');
  });

  it('refuses a Kafka password written into the configuration, saying where it belongs', () => {
    const over = { weights: 'w', labels: ['a'], kafka: { brokers: ['k:1'], sasl: { mechanism: 'plain', username: 'u', password: 'hunter2' } } };
    expect(() => loadConfig({ overrides: over })).toThrow(ConfigError);
    expect(() => loadConfig({ overrides: over })).toThrow(/kafka\.sasl\.password: .*passwordFile.*KAFKA_SASL_PASSWORD/);
  });

  it('refuses an unknown SASL mechanism and a client certificate without its key', () => {
    expect(() => loadConfig({ overrides: { weights: 'w', labels: ['a'], kafka: { brokers: ['k:1'], sasl: { mechanism: 'gssapi' } } } })).toThrow(/kafka\.sasl\.mechanism/);
    expect(() => loadConfig({ overrides: { weights: 'w', labels: ['a'], kafka: { brokers: ['k:1'], ssl: { cert: 'c.pem' } } } })).toThrow(/kafka\.ssl\.key: give both cert and key/);
  });
});

describe('kafkaSecurity', () => {
  it('takes the password from the environment, or from a file without its trailing newline', () => {
    const fromEnv = kafkaSecurity({ sasl: { mechanism: 'scram-sha-512', username: 'alice' } }, { KAFKA_SASL_PASSWORD: 's3cret' });
    expect(fromEnv.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'alice', password: 's3cret' });
    const file = write('pw', 'from-file\n');
    const fromFile = kafkaSecurity({ sasl: { mechanism: 'plain', passwordFile: file } }, { KAFKA_SASL_USERNAME: 'bob', KAFKA_SASL_PASSWORD: 'ignored' });
    expect(fromFile.sasl).toEqual({ mechanism: 'plain', username: 'bob', password: 'from-file' });
    expect(kafkaSecurity({}, {})).toEqual({});
  });

  it('says which credential is missing', () => {
    expect(() => kafkaSecurity({ sasl: { mechanism: 'plain', username: 'u' } }, {})).toThrow(/kafka\.sasl: no password: the KAFKA_SASL_PASSWORD environment variable is not set/);
    expect(() => kafkaSecurity({ sasl: { mechanism: 'plain' } }, { KAFKA_SASL_PASSWORD: 'p' })).toThrow(/kafka\.sasl\.username: .*KAFKA_SASL_USERNAME/);
    const missing = path.join(dir, 'no-such-secret');
    expect(() => kafkaSecurity({ sasl: { mechanism: 'plain', username: 'u', passwordFile: missing } }, {})).toThrow(`kafka.sasl.passwordFile: cannot read ${missing}`);
    expect(() => kafkaSecurity({ sasl: { mechanism: 'plain', username: 'u', passwordFile: write('empty', '\n') } }, {})).toThrow(/is empty/);
  });

  it('reads the TLS files kafkajs is given, and names a missing one', () => {
    const ca = write('ca.pem', '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    expect(kafkaSecurity({ ssl: true }, {})).toEqual({ ssl: true });
    expect(kafkaSecurity({ ssl: false }, {})).toEqual({});
    const ssl = kafkaSecurity({ ssl: { ca, servername: 'kafka.internal' } }, {}).ssl as { ca: Buffer; servername: string };
    expect(ssl.ca.toString()).toContain('BEGIN CERTIFICATE');
    expect(ssl.servername).toBe('kafka.internal');
    expect(() => kafkaSecurity({ ssl: { ca: path.join(dir, 'nope.pem') } }, {})).toThrow(/kafka\.ssl\.ca: cannot read .*nope\.pem/);
  });
});
