/**
 * `mqtt bench pub`: N publishers, at a rate or as fast as their in-flight window allows, and an
 * in-process subscriber that measures end-to-end latency from the stamp in each payload.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from '../client.js';
import {
  type BenchConfig,
  connectAll,
  endAll,
  newClient,
  optionalLatency,
  type Summary,
  seconds,
  waitUntil,
} from './bench-clients.js';
import { type Counters, latencyNs, Progress, payloadBuffer, Samples, stamp } from './bench-stats.js';
import { connectClient } from './connection.js';

/** After sending stops, how long to wait for outstanding acknowledgements and messages. */
const DRAIN_MS = 5000;

interface Publisher {
  client: MqttClient;
  topic: string;
  payload: Buffer;
  sent: number;
  inFlight: number;
  alive: boolean;
}

export async function benchPub(
  cfg: BenchConfig,
  noSub: boolean,
  topicTemplate: string | undefined,
): Promise<Summary> {
  const counters: Counters = { sent: 0, received: 0, inFlight: 0, errors: 0 };
  let acked = 0;
  const latency = new Samples();
  const template = topicTemplate ?? `mqttforge/bench/${cfg.run}/%i`;
  const topics = Array.from({ length: cfg.clients }, (_v, i) => template.replaceAll('%i', String(i)));

  let receiver: MqttClient | undefined;
  let lastReceive = process.hrtime.bigint();
  if (!noSub) {
    receiver = newClient(cfg, `${cfg.clientIdPrefix}sub`);
    await connectClient(receiver);
    receiver.on('message', (_t, payload) => {
      counters.received++;
      lastReceive = process.hrtime.bigint();
      const ns = latencyNs(payload, lastReceive);
      if (ns !== undefined) latency.add(ns);
    });
    receiver.on('error', () => counters.errors++);
    await receiver.subscribeAsync(Object.fromEntries([...new Set(topics)].map((t) => [t, { qos: cfg.qos }])));
  }

  const clients = await connectAll(
    topics.map((_t, i) => newClient(cfg, `${cfg.clientIdPrefix}${i}`)),
    counters,
  ).catch(async (error: unknown) => {
    if (receiver) await endAll([receiver]);
    throw error;
  });
  const pubs: Publisher[] = clients.map((client, i) => ({
    client,
    topic: topics[i]!,
    payload: payloadBuffer(cfg.size),
    sent: 0,
    inFlight: 0,
    alive: true,
  }));
  let wake: (() => void) | undefined;
  for (const p of pubs) {
    p.client.on('error', () => counters.errors++);
    p.client.on('close', () => {
      p.alive = false;
    });
  }
  const publishOne = (p: Publisher) => {
    stamp(p.payload, p.sent);
    p.sent++;
    p.inFlight++;
    counters.sent++;
    counters.inFlight++;
    // publish() encodes the payload before returning, so the buffer can be stamped again.
    p.client.publish(p.topic, p.payload, { qos: cfg.qos }, (error) => {
      p.inFlight--;
      counters.inFlight--;
      if (error) counters.errors++;
      else acked++;
      wake?.();
    });
  };

  const progress = new Progress('bench pub', () => counters);
  const start = process.hrtime.bigint();
  const limit = cfg.count ?? Number.POSITIVE_INFINITY;
  for (;;) {
    const elapsed = seconds(start);
    if (cfg.durationMs !== undefined && elapsed * 1000 >= cfg.durationMs) break;
    let active = 0;
    let wrote = 0;
    for (const p of pubs) {
      if (!p.alive || p.sent >= limit) continue;
      active++;
      const due = cfg.rate === undefined ? limit : Math.min(limit, Math.floor(elapsed * cfg.rate) + 1);
      while (p.sent < due && p.inFlight < cfg.inflight) {
        publishOne(p);
        wrote++;
      }
    }
    if (active === 0) break;
    if (cfg.rate !== undefined) await sleep(10);
    else if (wrote > 0)
      await nextTurn(); // let the socket write and acks come in
    else await Promise.race([new Promise<void>((r) => (wake = r)), sleep(50)]);
  }
  const sendEnd = process.hrtime.bigint();
  await waitUntil(
    () => counters.inFlight === 0 && (receiver === undefined || counters.received >= acked),
    DRAIN_MS,
  );
  progress.stop();
  await endAll(receiver ? [...clients, receiver] : clients);
  const sendSeconds = seconds(start, sendEnd);
  const receiveSeconds = seconds(start, lastReceive);
  return {
    command: 'pub',
    clients: cfg.clients,
    qos: cfg.qos,
    size: cfg.size,
    seconds: seconds(start),
    sent: counters.sent,
    acked,
    ...(receiver ? { received: counters.received } : {}),
    errors: counters.errors,
    sentPerSecond: counters.sent / sendSeconds,
    ...(receiver ? { receivedPerSecond: counters.received / Math.max(receiveSeconds, 1e-9) } : {}),
    ...optionalLatency(latency),
  };
}
