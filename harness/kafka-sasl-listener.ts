// The SASL listeners of the test broker (test/support/kafka-broker.ts): SASL_PLAINTEXT, and with
// a certificate also SASL_SSL, beside the PLAINTEXT listener that stays for the controller,
// inter-broker traffic and the readiness probe. Loopback only.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface SaslListenerOptions {
  /** Mechanisms the listeners accept; each user gets credentials for each. */
  readonly mechanisms: readonly SaslMechanismName[];
  readonly users: ReadonlyArray<{ readonly name: string; readonly password: string }>;
  /** PEM certificate and unencrypted PKCS#8 key for 127.0.0.1: also open a SASL_SSL listener. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

export interface ListenerPorts {
  readonly broker: number;
  readonly controller: number;
  readonly sasl: number;
  readonly saslSsl: number;
}

/** JAAS lines per listener and mechanism; SCRAM users are not in them but in the metadata log. */
function jaas(listener: string, sasl: SaslListenerOptions): Record<string, string> {
  const props: Record<string, string> = {};
  for (const m of sasl.mechanisms) {
    const module = m === 'PLAIN' ? 'plain.PlainLoginModule required' : 'scram.ScramLoginModule required';
    const users = m === 'PLAIN' ? sasl.users.map((u) => ` user_${u.name}="${u.password}"`).join('') : '';
    props[`listener.name.${listener}.${m.toLowerCase()}.sasl.jaas.config`] = `org.apache.kafka.common.security.${module}${users};`;
  }
  return props;
}

/**
 * server.properties entries for the SASL listeners. The broker reads the PEM keystore (key, then
 * certificate) that this writes into `dir`. Without an authorizer any user who logs in may use
 * any topic: these listeners test authentication, not authorization.
 */
export async function saslListenerProperties(dir: string, ports: ListenerPorts, sasl: SaslListenerOptions): Promise<Record<string, string>> {
  const open = [`PLAINTEXT://127.0.0.1:${ports.broker}`, `SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`];
  if (sasl.tls !== undefined) open.push(`SASL_SSL://127.0.0.1:${ports.saslSsl}`);
  const props: Record<string, string> = {
    listeners: [...open, `CONTROLLER://127.0.0.1:${ports.controller}`].join(','),
    'advertised.listeners': open.join(','),
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'sasl.enabled.mechanisms': sasl.mechanisms.join(','),
    ...jaas('sasl_plaintext', sasl),
  };
  if (sasl.tls === undefined) return props;
  const keystore = join(dir, 'broker-keystore.pem');
  await writeFile(keystore, (await readFile(sasl.tls.keyFile, 'utf8')) + (await readFile(sasl.tls.certFile, 'utf8')));
  return { ...props, 'listener.name.sasl_ssl.ssl.keystore.type': 'PEM', 'listener.name.sasl_ssl.ssl.keystore.location': keystore, ...jaas('sasl_ssl', sasl) };
}

/** `--add-scram MECH=[name=N,password=P]` for every SCRAM mechanism and user: the storage tool's own way. */
export function scramFormatArgs(sasl: SaslListenerOptions | undefined): string[] {
  const scram = sasl?.mechanisms.filter((m) => m !== 'PLAIN') ?? [];
  return scram.flatMap((m) => sasl!.users.flatMap((u) => ['--add-scram', `${m}=[name=${u.name},password=${u.password}]`]));
}
