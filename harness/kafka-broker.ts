// A real single-node Kafka (KRaft: broker + controller in one JVM) on 127.0.0.1, run from
// the jars scripts/setup-test-infra.sh put in the cache. Started and stopped by PID.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  INSTALL_HINT,
  cacheDir,
  freePort,
  infraVersions,
  spawnManaged,
  tailFile,
  waitUntil,
  type LoopbackServer,
  type ManagedProcess,
  type RestartOptions,
} from './processes.js';
import { saslListenerProperties, scramFormatArgs, type SaslListenerOptions } from './kafka-sasl-listener.js';

export type { RestartOptions } from './processes.js';
export type { SaslListenerOptions } from './kafka-sasl-listener.js';

/** The JVM's temporary directory (server.properties, data, logs) survives restart() and is kept after stop() when ACTIONCLIP_KEEP_TEST_DIRS=1. */
export interface KafkaBroker extends LoopbackServer {
  /** Bootstrap address for clients, '127.0.0.1:PORT'. */
  readonly brokers: string;
  /** With `sasl`: the SASL_PLAINTEXT listener's address, '127.0.0.1:PORT'. */
  readonly saslBrokers?: string;
  /** With `sasl.tls`: the SASL_SSL listener's address. */
  readonly saslSslBrokers?: string;
  /** Temporary directory holding server.properties, data and logs. */
  readonly dir: string;
}

export interface KafkaOptions {
  /** How long to wait for the broker to answer listTopics (default 120 s: JVM start on 2 cores). */
  readyTimeoutMs?: number;
  /** How long a SIGTERM'd broker may take to shut down before SIGKILL (default 15 s). */
  stopGraceMs?: number;
  /** JVM max heap in MiB (default 512). */
  heapMb?: number;
  /** Extra server.properties entries, e.g. { 'num.partitions': '3' }. */
  properties?: Record<string, string>;
  /** Listen for clients on this loopback port (default: a free one), e.g. one a service is already retrying. */
  brokerPort?: number;
  /** Also open SASL listeners for these users (see saslListenerProperties). */
  sasl?: SaslListenerOptions;
}

/** Where the installer put the Kafka jars; throws with the install hint when absent. */
export function kafkaLibsDir(): string {
  const { kafka } = infraVersions();
  const libs = join(cacheDir(), 'kafka', kafka, 'libs');
  if (!existsSync(join(libs, '.complete'))) {
    throw new Error(`Kafka ${kafka} jars not found in ${libs}: ${INSTALL_HINT}`);
  }
  return libs;
}

function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  if (home && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  return 'java';
}

// KRaft cluster ids are 16 random bytes in URL-safe base64 without padding.
/** A Kafka cluster id (16 random bytes, base64url) not starting with '-', which the storage tool would read as an option. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(p: {
  brokerPort: number;
  controllerPort: number;
  dataDir: string;
  extra: Record<string, string>;
}): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${p.controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${p.brokerPort},CONTROLLER://127.0.0.1:${p.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${p.brokerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': p.dataDir,
    'num.partitions': '1',
    'auto.create.topics.enable': 'true',
    // Single node: every internal topic must fit on one replica.
    'offsets.topic.replication.factor': '1',
    // The default 50 partitions for __consumer_offsets make the first group join slow.
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Tests start one consumer at a time; don't wait 3 s for more members.
    'group.initial.rebalance.delay.ms': '0',
    ...p.extra,
  };
  return Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')
    .concat('\n');
}

// Console appender only: the process's stdout/stderr already go to the log file.
const LOG4J2_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <Console name="stdout" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Logger name="org.apache.kafka.clients" level="warn"/>
    <Logger name="kafka.request.logger" level="warn"/>
    <Root level="info"><AppenderRef ref="stdout"/></Root>
  </Loggers>
</Configuration>
`;

/**
 * True once the broker answers metadata (listTopics) and its group coordinator is loaded
 * (describeGroups creates __consumer_offsets), so the tests' first consumer joins cleanly.
 */
async function brokerAnswers(brokers: string): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'test-readiness',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    await admin.describeGroups(['actionclip-readiness']);
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka(opts: KafkaOptions = {}): Promise<KafkaBroker> {
  const libs = kafkaLibsDir();
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  const stopGraceMs = opts.stopGraceMs ?? 15_000;
  const dir = await mkdtemp(join(tmpdir(), 'actionclip-kafka-'));
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const logFile = join(dir, 'kafka.log');
  const propsFile = join(dir, 'server.properties');
  const log4jFile = join(dir, 'log4j2.xml');
  const brokerPort = opts.brokerPort ?? (await freePort());
  let controllerPort = await freePort();
  while (controllerPort === brokerPort) controllerPort = await freePort();
  const taken = new Set([brokerPort, controllerPort]);
  const another = async (): Promise<number> => {
    let port = await freePort();
    while (taken.has(port)) port = await freePort();
    taken.add(port);
    return port;
  };
  const ports = { broker: brokerPort, controller: controllerPort, sasl: await another(), saslSsl: await another() };
  const saslProps = opts.sasl === undefined ? {} : await saslListenerProperties(dir, ports, opts.sasl);
  await writeFile(
    propsFile,
    serverProperties({ brokerPort, controllerPort, dataDir, extra: { ...saslProps, ...opts.properties } }),
  );
  await writeFile(log4jFile, LOG4J2_XML);

  const java = javaBinary();
  const jvmArgs = [
    `-Xmx${opts.heapMb ?? 512}m`,
    '-Xms128m',
    // One GC thread and C1 only: faster start and less CPU on a 2-core machine.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    `-Dkafka.logs.dir=${dir}`,
    // Java expands the trailing '*' itself; no shell is involved.
    '-cp',
    join(libs, '*'),
  ];

  // Format the KRaft metadata log once; restarts reuse it like a real node would.
  const format = await spawnManaged(
    java,
    [...jvmArgs, 'kafka.tools.StorageTool', 'format', '-t', newClusterId(), '-c', propsFile, ...scramFormatArgs(opts.sasl)],
    { logFile },
  );
  const formatted = await format.exited;
  if (formatted.code !== 0) {
    throw new Error(
      `kafka-storage format failed (code ${formatted.code}, signal ${formatted.signal})\n` +
        `log: ${logFile}\n${tailFile(logFile)}`,
    );
  }

  const brokers = `127.0.0.1:${brokerPort}`;
  let proc: ManagedProcess | undefined;

  const launch = async (): Promise<void> => {
    proc = await spawnManaged(java, [...jvmArgs, 'kafka.Kafka', propsFile], { logFile });
    try {
      await waitUntil(`Kafka broker on ${brokers}`, () => brokerAnswers(brokers), {
        timeoutMs: readyTimeoutMs,
        intervalMs: 500,
        proc,
        logFile,
      });
    } catch (err) {
      await proc.stop(stopGraceMs);
      throw err;
    }
  };
  const kill = async (signal?: NodeJS.Signals): Promise<void> => {
    if (proc) await proc.stop(stopGraceMs, signal);
  };

  await launch();
  return {
    brokers,
    ...(opts.sasl === undefined ? {} : { saslBrokers: `127.0.0.1:${ports.sasl}` }),
    ...(opts.sasl?.tls === undefined ? {} : { saslSslBrokers: `127.0.0.1:${ports.saslSsl}` }),
    get pid(): number {
      if (!proc) throw new Error('Kafka broker not started');
      return proc.pid;
    },
    dir,
    logFile,
    async stop(): Promise<void> {
      await kill();
      if (process.env.ACTIONCLIP_KEEP_TEST_DIRS !== '1') {
        await rm(dir, { recursive: true, force: true });
      }
    },
    async restart(restartOpts: RestartOptions = {}): Promise<void> {
      await kill(restartOpts.signal);
      await launch();
    },
  };
}
