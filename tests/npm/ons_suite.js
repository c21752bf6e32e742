'use strict';
// Round trips of the npm RocketMQ client ali-ons (pinned in package.json) through our namesrvd and
// brokerd. One scenario per run (CTest runs each as its own test, label npm):
//
//   roundtrip  produce with tags, keys and user properties; consume with a group: every message
//              exactly once with its body, tags, keys, properties, msgId, queue and offset; then
//              a restarted consumer of the same group resumes from the committed offsets
//   tags       three groups subscribed to "TagA || TagB", "TagC" and "*": each gets exactly its
//              messages, and the broker (not only the client) filtered them out of the pulls
//   sizes      bodies of 0 B to 120 KiB around ali-ons' 4 KiB compression threshold, both
//              incompressible and compressible, byte-identical after the round trip
//   delay      delay levels 1 and 2 (1 s and 2 s here) are held back at least that long, then
//              delivered to the real topic and queue; immediate messages are not held
//   retry      a consume that throws or returns ACTION_RETRY is sent back (CONSUMER_SEND_MSG_BACK)
//              and redelivered through %RETRY%<group> after the delay level, reconsumeTimes + 1,
//              body and properties intact; successful messages are consumed once
//   dlq        after maxReconsumeTimes failed consumes the message goes to %DLQ%<group> and is not
//              delivered again
//
// usage: node ons_suite.js --scenario NAME --namesrvd PATH --brokerd PATH --node-modules DIR

const H = require('./lib/harness');

// ---- message helpers --------------------------------------------------------------------------

// Deterministic bodies: 'random' is xorshift noise (incompressible, every byte value), 'text' is
// a repeated pattern (deflate shrinks it to a few hundred bytes).
function makeBody(seed, size, kind) {
  const b = Buffer.alloc(size);
  if (kind === 'text') {
    const pattern = Buffer.from(`body#${seed} lorem ipsum dolor sit amet ${'0123456789'.repeat(3)}\n`);
    for (let i = 0; i < size; i++) b[i] = pattern[i % pattern.length];
    return b;
  }
  let x = (seed * 2654435761 + size + 1) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

function bodyOf(msg) { return msg.body || Buffer.alloc(0); }

function sameBody(msg, expected) { return Buffer.compare(bodyOf(msg), expected) === 0; }

function describeBodyDiff(msg, expected) {
  const got = bodyOf(msg);
  let i = 0;
  while (i < got.length && i < expected.length && got[i] === expected[i]) i++;
  return `${got.length} B instead of ${expected.length} B, first difference at byte ${i}`;
}

const USER_UTF8 = 'héllo wörld ✓ 消息';

// A message of this run: seq and sid identify it when it comes back.
function newMessage(ctx, topic, tag, body, seq, extraProps) {
  const msg = new ctx.mods.ons.Message(topic, tag, Buffer.from(body));
  if (tag === null) delete msg.properties.TAGS; // no tag at all (ali-ons would send "null")
  msg.keys = [ `k${seq}`, `kk${seq}` ];
  Object.assign(msg.properties, { sid: ctx.runId, seq: String(seq), 'x-utf8': USER_UTF8 },
    extraProps || {});
  return msg;
}

// Sends and keeps what the consumer must see again; body kept before ali-ons compresses it.
async function send(ctx, producer, topic, tag, body, seq, extraProps, delayLevel) {
  const msg = newMessage(ctx, topic, tag, body, seq, extraProps);
  if (delayLevel) msg.delayTimeLevel = delayLevel;
  const userProps = Object.assign({ sid: ctx.runId, seq: String(seq), 'x-utf8': USER_UTF8 },
    extraProps || {});
  const sentAt = Date.now();
  const result = await H.withTimeout(producer.send(msg), 10000, `send of message ${seq}`);
  return { seq, topic, tag, body: Buffer.from(body), keys: `k${seq} kk${seq}`, userProps, result,
    sentAt, delayLevel: delayLevel || 0 };
}

// Compares one delivered message with what was sent; returns problems as text.
function compareMessage(ctx, msg, s, opts = {}) {
  const p = [];
  const where = `seq ${s.seq}`;
  if (!sameBody(msg, s.body)) p.push(`${where}: body ${describeBodyDiff(msg, s.body)}`);
  const tags = msg.properties.TAGS === null ? null : msg.properties.TAGS;
  if (tags !== (s.tag === null ? null : s.tag)) p.push(`${where}: TAGS ${tags} instead of ${s.tag}`);
  if (msg.properties.KEYS !== s.keys) p.push(`${where}: KEYS ${msg.properties.KEYS} instead of ${s.keys}`);
  for (const [ k, v ] of Object.entries(s.userProps)) {
    if (msg.properties[k] !== v) p.push(`${where}: property ${k}=${JSON.stringify(msg.properties[k])} instead of ${JSON.stringify(v)}`);
  }
  if (msg.topic !== s.topic) p.push(`${where}: topic ${msg.topic} instead of ${s.topic}`);
  if (msg.storeHost !== ctx.cluster.brokerAddr) p.push(`${where}: storeHost ${msg.storeHost} instead of ${ctx.cluster.brokerAddr}`);
  if (!opts.skipQueue) {
    if (msg.queueId !== Number(s.result.messageQueue.queueId)) p.push(`${where}: queueId ${msg.queueId} instead of ${s.result.messageQueue.queueId} (send result)`);
    if (!opts.skipOffset && msg.queueOffset !== s.result.queueOffset) p.push(`${where}: queueOffset ${msg.queueOffset} instead of ${s.result.queueOffset} (send result)`);
  }
  if (!opts.skipMsgId && msg.msgId !== s.result.msgId) p.push(`${where}: msgId ${msg.msgId} instead of ${s.result.msgId} (send result)`);
  if (opts.reconsumeTimes !== undefined && msg.reconsumeTimes !== opts.reconsumeTimes) {
    p.push(`${where}: reconsumeTimes ${msg.reconsumeTimes} instead of ${opts.reconsumeTimes}`);
  }
  if (msg.properties.CLUSTER !== ctx.cluster.clusterName) p.push(`${where}: CLUSTER property ${msg.properties.CLUSTER} instead of ${ctx.cluster.clusterName}`);
  if (!(msg.bornTimestamp <= msg.storeTimestamp)) p.push(`${where}: bornTimestamp ${msg.bornTimestamp} after storeTimestamp ${msg.storeTimestamp}`);
  if (opts.exactKeys) {
    // The property names RocketMQ 4.9.7 delivers: the sent ones, CLUSTER (added by the broker),
    // MIN_OFFSET/MAX_OFFSET (added by ali-ons from the pull) and opts.exactKeys.required;
    // opts.exactKeys.optional may be there or not.
    const more = opts.exactKeys === true ? {} : opts.exactKeys;
    const expected = new Set([ ...Object.keys(s.userProps), 'KEYS', 'CLUSTER', 'MIN_OFFSET', 'MAX_OFFSET',
      ...(s.tag === null ? [] : [ 'TAGS' ]), ...(more.required || []) ]);
    const optional = new Set(more.optional || []);
    const got = Object.keys(msg.properties).filter(k => !(k === 'TAGS' && msg.properties.TAGS === null));
    const extra = got.filter(k => !expected.has(k) && !optional.has(k));
    const missing = [ ...expected ].filter(k => !got.includes(k));
    if (extra.length || missing.length) {
      p.push(`${where}: property names differ (extra ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)})` +
        (extra.includes('') ? ' [an empty name: the stored properties string ends with \\x02, 4.9.7 stores none]' : ''));
    }
  }
  return p;
}

// Records deliveries of this run's messages (others are counted apart).
class Deliveries {
  constructor(ctx) {
    this.ctx = ctx;
    this.bySeq = new Map();
    this.foreign = [];
    this.count = 0;
  }

  add(msg) {
    if (msg.properties.sid !== this.ctx.runId) {
      this.foreign.push(msg);
      return null;
    }
    const seq = Number(msg.properties.seq);
    if (!this.bySeq.has(seq)) this.bySeq.set(seq, []);
    const d = { msg, at: Date.now(), reconsumeTimes: msg.reconsumeTimes, topic: msg.topic };
    this.bySeq.get(seq).push(d);
    this.count++;
    return d;
  }

  times(seq) { return (this.bySeq.get(seq) || []).length; }

  // Every expected seq exactly once and nothing else.
  exactlyOnce(expectedSeqs) {
    const p = [];
    const want = new Set(expectedSeqs);
    for (const seq of want) {
      const n = this.times(seq);
      if (n !== 1) p.push(`seq ${seq} delivered ${n} times`);
    }
    for (const seq of this.bySeq.keys()) {
      if (!want.has(seq)) p.push(`seq ${seq} delivered ${this.times(seq)} times but not expected here`);
    }
    return p;
  }
}

async function waitDeliveries(ctx, what, pred, timeoutMs) {
  const ok = await H.waitFor(pred, timeoutMs, 50);
  ctx.checks.ok(ok, `${what} within ${timeoutMs / 1000} s`);
  return ok;
}

function sendResultProblems(ctx, sent, queueNums) {
  const p = [];
  const portHex = ctx.cluster.brokerPort.toString(16).toUpperCase().padStart(8, '0');
  for (const s of sent) {
    const r = s.result;
    if (r.sendStatus !== 'SEND_OK') p.push(`seq ${s.seq}: sendStatus ${r.sendStatus}`);
    if (!/^[0-9A-F]{32}$/.test(r.msgId || '')) p.push(`seq ${s.seq}: msgId ${r.msgId} is not 32 hex digits`);
    else if (r.msgId.slice(0, 16) !== `7F000001${portHex}`) p.push(`seq ${s.seq}: msgId ${r.msgId} does not start with the store host 127.0.0.1:${ctx.cluster.brokerPort}`);
    const q = r.messageQueue && r.messageQueue.queueId;
    if (!(Number.isInteger(Number(q)) && Number(q) >= 0 && Number(q) < queueNums)) p.push(`seq ${s.seq}: queueId ${q}`);
    if (!(Number.isInteger(r.queueOffset) && r.queueOffset >= 0)) p.push(`seq ${s.seq}: queueOffset ${r.queueOffset}`);
  }
  return p;
}

// Per queue, the send results' offsets are distinct and consecutive.
function offsetProblems(sent) {
  const p = [];
  const byQ = new Map();
  for (const s of sent) {
    const q = Number(s.result.messageQueue.queueId);
    if (!byQ.has(q)) byQ.set(q, []);
    byQ.get(q).push(s.result.queueOffset);
  }
  for (const [ q, offs ] of byQ) {
    offs.sort((a, b) => a - b);
    for (let i = 1; i < offs.length; i++) {
      if (offs[i] !== offs[i - 1] + 1) p.push(`queue ${q}: offsets ${offs.join(',')} are not consecutive`);
    }
  }
  return p;
}

// ---- scenarios --------------------------------------------------------------------------------

async function roundtrip(ctx) {
  const { checks, admin } = ctx;
  const topic = ctx.name('ons_rt');
  const group = ctx.name('CG_rt');
  const QUEUES = 4;
  await admin.createTopic(topic, QUEUES, checks);
  const producer = await ctx.producer(ctx.name('PG_rt'), 'producer');

  const N = 48;
  const tags = [ 'TagA', 'TagB', 'TagC' ];
  const sent = [];
  for (let i = 0; i < N; i++) {
    const body = makeBody(i, 1 + (i * 97) % 1500, i % 2 ? 'random' : 'text');
    sent.push(await send(ctx, producer, topic, tags[i % 3], body, i, { 'x-n': String(i * 1000003) }));
  }
  checks.all(sendResultProblems(ctx, sent, QUEUES), `${N} sends answered SEND_OK with msgId, queueId and queueOffset`);
  checks.all(offsetProblems(sent), 'queue offsets of the sends are consecutive per queue');
  checks.ok(new Set(sent.map(s => s.result.messageQueue.queueId)).size === QUEUES,
    `the sends went to all ${QUEUES} queues`);

  const got = new Deliveries(ctx);
  const c1 = await ctx.consumer(group, 'consumer1', topic, '*', async msg => { got.add(msg); });
  await waitDeliveries(ctx, `consumer group gets all ${N} messages`, () => got.count >= N, 30000);
  await H.sleep(1500); // duplicates would show up here
  checks.all(got.exactlyOnce(sent.map(s => s.seq)), 'every message consumed exactly once');
  const problems = [];
  for (const s of sent) {
    for (const d of got.bySeq.get(s.seq) || []) {
      problems.push(...compareMessage(ctx, d.msg, s, { reconsumeTimes: 0, exactKeys: true }));
    }
  }
  checks.all(problems, 'bodies byte-identical; tags, keys, properties, msgId, queueId, queueOffset, storeHost as sent');
  checks.eq(got.foreign.length, 0,
    'no message of another run delivered');

  // The group's progress is committed when the consumer closes (UPDATE_CONSUMER_OFFSET, oneway).
  await ctx.closeClient(c1);
  const maxOffsets = [];
  for (let q = 0; q < QUEUES; q++) maxOffsets.push(await admin.maxOffset(topic, q));
  let committed = [];
  const allCommitted = await H.waitFor(async () => {
    committed = [];
    for (let q = 0; q < QUEUES; q++) committed.push(await admin.consumerOffset(group, topic, q));
    return committed.every((o, q) => o === maxOffsets[q]);
  }, 5000, 100);
  checks.ok(allCommitted, 'committed consumer offsets reach the max offset of every queue after close',
    `committed ${JSON.stringify(committed)}, max ${JSON.stringify(maxOffsets)}`);

  // A restarted consumer of the group continues after the committed offsets.
  const M = 12;
  const more = [];
  for (let i = N; i < N + M; i++) {
    more.push(await send(ctx, producer, topic, tags[i % 3], makeBody(i, 200 + i, 'random'), i));
  }
  const got2 = new Deliveries(ctx);
  await ctx.consumer(group, 'consumer2', topic, '*', async msg => { got2.add(msg); });
  await waitDeliveries(ctx, `restarted consumer gets the ${M} new messages`, () => got2.count >= M, 30000);
  await H.sleep(1500);
  checks.all(got2.exactlyOnce(more.map(s => s.seq)),
    'restarted consumer resumes at the committed offsets: new messages once, none of the first ' + N);
  const problems2 = [];
  for (const s of more) {
    for (const d of got2.bySeq.get(s.seq) || []) problems2.push(...compareMessage(ctx, d.msg, s, { reconsumeTimes: 0 }));
  }
  checks.all(problems2, 'resumed messages intact');
}

async function tags(ctx) {
  const { checks, admin } = ctx;
  const topic = ctx.name('ons_tag');
  await admin.createTopic(topic, 4, checks);
  const producer = await ctx.producer(ctx.name('PG_tag'), 'producer');
  const N = 40;
  const tagOf = i => [ 'TagA', 'TagB', 'TagC', null ][i % 4];
  const sent = [];
  for (let i = 0; i < N; i++) sent.push(await send(ctx, producer, topic, tagOf(i), makeBody(i, 64 + i, 'random'), i));
  checks.all(sendResultProblems(ctx, sent, 4), `${N} sends (TagA, TagB, TagC, no tag) answered SEND_OK`);

  // What the broker returned in pulls, per group: the client filters by tag again, so only the
  // pulls show whether the broker filtered.
  const pulled = new Map();
  const proto = ctx.mods.MQClientAPI.prototype;
  const origPull = proto.pullMessage;
  proto.pullMessage = async function(addr, header, timeout) {
    const group = header.consumerGroup;
    const r = await origPull.call(this, addr, header, timeout);
    if (!pulled.has(group)) pulled.set(group, []);
    pulled.get(group).push(...r.msgFoundList);
    return r;
  };

  const subs = [
    { group: ctx.name('CG_tagAB'), expr: 'TagA || TagB', want: t => t === 'TagA' || t === 'TagB' },
    { group: ctx.name('CG_tagC'), expr: 'TagC', want: t => t === 'TagC' },
    { group: ctx.name('CG_tagAll'), expr: '*', want: () => true },
  ];
  for (const s of subs) {
    s.got = new Deliveries(ctx);
    s.expected = sent.filter(m => s.want(m.tag));
    await ctx.consumer(s.group, `c_${s.group}`, topic, s.expr, async msg => { s.got.add(msg); });
  }
  await waitDeliveries(ctx, 'each group gets its messages',
    () => subs.every(s => s.got.count >= s.expected.length), 30000);
  await H.sleep(1500);
  for (const s of subs) {
    checks.all(s.got.exactlyOnce(s.expected.map(m => m.seq)),
      `subscription "${s.expr}": exactly its ${s.expected.length} messages, each once`);
    const problems = [];
    for (const m of s.expected) {
      for (const d of s.got.bySeq.get(m.seq) || []) problems.push(...compareMessage(ctx, d.msg, m, { reconsumeTimes: 0 }));
    }
    checks.all(problems, `subscription "${s.expr}": messages intact`);
    const wrong = (pulled.get(s.group) || []).filter(m => m.properties.sid === ctx.runId &&
      !s.want(m.properties.TAGS === null ? null : m.properties.TAGS));
    checks.ok(wrong.length === 0, `subscription "${s.expr}": the broker filtered by tag (no other tag in any pull)`,
      `${wrong.length} pulled message(s) with tags ${JSON.stringify([ ...new Set(wrong.map(m => m.properties.TAGS)) ])}`);
  }
  proto.pullMessage = origPull;
}

async function sizes(ctx) {
  const { checks, admin } = ctx;
  const topic = ctx.name('ons_size');
  await admin.createTopic(topic, 2, checks);
  const producer = await ctx.producer(ctx.name('PG_size'), 'producer');
  // ali-ons deflates bodies of >= 4096 bytes (compressMsgBodyOverHowmuch) and sets sysFlag bit 0.
  const SIZES = [ 0, 1, 127, 1023, 1024, 4095, 4096, 4097, 8192, 65535, 65536, 100000, 122879, 122880 ];
  const sent = [];
  let seq = 0;
  for (const size of SIZES) {
    for (const kind of [ 'random', 'text' ]) {
      if (size === 0 && kind === 'text') continue;
      const s = await send(ctx, producer, topic, 'Size', makeBody(seq, size, kind), seq, { size: String(size), kind });
      sent.push(s);
      seq++;
    }
  }
  checks.all(sendResultProblems(ctx, sent, 2), `${sent.length} sends of 0 B .. 120 KiB answered SEND_OK`);
  const got = new Deliveries(ctx);
  await ctx.consumer(ctx.name('CG_size'), 'consumer', topic, '*', async msg => { got.add(msg); });
  await waitDeliveries(ctx, `all ${sent.length} sized messages consumed`, () => got.count >= sent.length, 40000);
  await H.sleep(1000);
  checks.all(got.exactlyOnce(sent.map(s => s.seq)), 'every sized message consumed exactly once');
  const problems = [];
  const flagProblems = [];
  for (const s of sent) {
    for (const d of got.bySeq.get(s.seq) || []) {
      problems.push(...compareMessage(ctx, d.msg, s, { reconsumeTimes: 0 }));
      const compressed = (d.msg.sysFlag & 1) === 1;
      if (compressed !== (s.body.length >= 4096)) {
        flagProblems.push(`${s.body.length} B ${s.userProps.kind}: compressed flag ${compressed}`);
      }
    }
  }
  checks.all(problems, 'bodies byte-identical from 0 B to 120 KiB (random and compressible)');
  checks.all(flagProblems, 'sysFlag compressed bit kept as sent (set from 4096 B on)');
}

async function delay(ctx) {
  const { checks, admin } = ctx;
  const topic = ctx.name('ons_delay');
  await admin.createTopic(topic, 4, checks);
  const producer = await ctx.producer(ctx.name('PG_delay'), 'producer');
  const got = new Deliveries(ctx);
  const c = await ctx.consumer(ctx.name('CG_delay'), 'consumer', topic, '*', async msg => { got.add(msg); });
  await waitPulling(ctx, c, topic, 4);

  const plan = [ [ 'now', 0 ], [ 'd2', 2 ], [ 'd1', 1 ], [ 'now', 0 ], [ 'd2', 2 ], [ 'now', 0 ] ];
  const sent = [];
  for (let i = 0; i < plan.length; i++) {
    const [ tag, level ] = plan[i];
    sent.push(await send(ctx, producer, topic, tag, makeBody(i, 300 + i, 'random'), i, null, level));
  }
  checks.all(sendResultProblems(ctx, sent, 4), 'sends with and without delayTimeLevel answered SEND_OK');
  await waitDeliveries(ctx, 'delayed and immediate messages consumed', () => got.count >= sent.length,
    H.delayLevelMs(2) + 15000);
  await H.sleep(1500);
  checks.all(got.exactlyOnce(sent.map(s => s.seq)), 'every delayed or immediate message consumed exactly once');

  const timing = [];
  const content = [];
  const firstDelayed = Math.min(...sent.filter(s => s.delayLevel).map(s => {
    const d = got.bySeq.get(s.seq);
    return d ? d[0].at : Infinity;
  }));
  for (const s of sent) {
    const d = (got.bySeq.get(s.seq) || [])[0];
    if (!d) continue;
    const m = d.msg;
    if (s.delayLevel === 0) {
      content.push(...compareMessage(ctx, m, s, { reconsumeTimes: 0, exactKeys: true }));
      if (!(d.at < firstDelayed)) timing.push(`immediate seq ${s.seq} came after a delayed message`);
      continue;
    }
    const want = H.delayLevelMs(s.delayLevel);
    const waited = d.at - s.sentAt;
    if (waited < want) timing.push(`level ${s.delayLevel} seq ${s.seq} consumed ${waited} ms after its send (configured ${want} ms)`);
    if (waited > want + 10000) timing.push(`level ${s.delayLevel} seq ${s.seq} consumed only ${waited} ms after its send`);
    const held = m.storeTimestamp - m.bornTimestamp;
    if (held < want) timing.push(`level ${s.delayLevel} seq ${s.seq}: storeTimestamp - bornTimestamp = ${held} ms < ${want} ms`);
    // Delivered as RocketMQ 4.9.7's ScheduleMessageService stores it (see the FixDelay records of
    // ../shared/fixtures/store-4.9.7): real topic and queue back, the properties as sent plus
    // REAL_TOPIC and REAL_QID (DELAY keeps its level); a new msgId and offset in the real queue.
    content.push(...compareMessage(ctx, m, s, { reconsumeTimes: 0, skipMsgId: true, skipOffset: true,
      exactKeys: { required: [ 'REAL_TOPIC', 'REAL_QID', 'DELAY' ], optional: [ 'WAIT' ] } }));
    if (m.properties.REAL_TOPIC !== topic) content.push(`seq ${s.seq}: REAL_TOPIC ${m.properties.REAL_TOPIC}`);
    if (m.properties.REAL_QID !== String(s.result.messageQueue.queueId)) content.push(`seq ${s.seq}: REAL_QID ${m.properties.REAL_QID} instead of ${s.result.messageQueue.queueId}`);
    if (m.properties.DELAY !== String(s.delayLevel)) content.push(`seq ${s.seq}: DELAY ${m.properties.DELAY} instead of ${s.delayLevel}`);
  }
  checks.all(timing, `delay levels honoured (level 1 >= ${H.delayLevelMs(1)} ms, level 2 >= ${H.delayLevelMs(2)} ms after the send; immediate ones first)`);
  checks.all(content, 'delayed messages delivered on their real topic and queue, body and properties intact');
}

// Waits until the consumer pulls all queues of topic (rebalance done) so that timing starts then.
async function waitPulling(ctx, consumer, topic, n) {
  const ok = await H.waitFor(() => [ ...consumer.processQueueTable.values() ]
    .filter(v => v.messageQueue.topic === topic).length === n, 15000, 50);
  ctx.checks.ok(ok, `consumer pulls the ${n} queue(s) of ${topic}`);
}

// Records every CONSUMER_SEND_MSG_BACK ali-ons sends and what the broker answered.
function recordSendBacks(ctx) {
  const calls = [];
  const proto = ctx.mods.MQClientAPI.prototype;
  const orig = proto.consumerSendMessageBack;
  proto.consumerSendMessageBack = async function(addr, msg, group, delayLevel, timeout, maxTimes) {
    const call = { seq: msg.properties.seq, reconsumeTimes: msg.reconsumeTimes, group, delayLevel, maxTimes, at: Date.now() };
    calls.push(call);
    try {
      const r = await orig.call(this, addr, msg, group, delayLevel, timeout, maxTimes);
      call.ok = true;
      return r;
    } catch (err) {
      call.ok = false;
      call.code = err.code;
      call.remark = err.message;
      throw err;
    }
  };
  return { calls, restore() { proto.consumerSendMessageBack = orig; } };
}

function sendBackProblems(calls) {
  return calls.filter(c => !c.ok).map(c =>
    `seq ${c.seq} (reconsumeTimes ${c.reconsumeTimes}, group ${c.group}, delayLevel ${c.delayLevel}): ` +
    `answered code ${c.code} ${JSON.stringify(c.remark)} (ali-ons then re-sends to %RETRY% itself)`);
}

async function retry(ctx) {
  const { checks, admin } = ctx;
  const topic = ctx.name('ons_retry');
  const group = ctx.name('CG_retry');
  const retryTopic = `%RETRY%${group}`;
  await admin.createTopic(topic, 2, checks);
  const producer = await ctx.producer(ctx.name('PG_retry'), 'producer');
  const sb = recordSendBacks(ctx);

  // seq -> how the handler fails it, once per delivery, before it succeeds. ACTION_RETRY is only
  // honoured on a first delivery: ali-ons' %RETRY% handler drops the user handler's return value,
  // so a redelivery fails by throwing.
  const failPlan = { 0: [ 'throw' ], 1: [ 'retry' ], 2: [ 'throw', 'throw' ] };
  const got = new Deliveries(ctx);
  const failedAt = new Map(); // seq -> [time of each failure]
  const handler = async msg => {
    const d = got.add(msg);
    if (!d) return undefined;
    const seq = Number(msg.properties.seq);
    const plan = failPlan[seq] || [];
    const n = got.times(seq) - 1;
    if (n < plan.length) {
      if (!failedAt.has(seq)) failedAt.set(seq, []);
      failedAt.get(seq).push(Date.now());
      if (plan[n] === 'throw') throw new Error(`planned failure ${n + 1} of seq ${seq}`);
      return ctx.mods.ons.Consumer.ACTION_RETRY;
    }
    return undefined;
  };
  // Route and rebalance polled every second so that %RETRY%<group>, created by the broker when
  // the group's heartbeat names it, is pulled soon after (the defaults are 30 s and 10 s).
  const c = await ctx.consumer(group, 'consumer', topic, '*', handler,
    { pollNameServerInteval: 1000, rebalanceInterval: 1000 });
  await waitPulling(ctx, c, topic, 2);
  const retryPulled = await H.waitFor(() => [ ...c.processQueueTable.values() ]
    .some(v => v.messageQueue.topic === retryTopic), 15000, 50);
  checks.ok(retryPulled, `consumer gets a route for ${retryTopic} and pulls it (broker creates it on heartbeat)`);

  const sent = [];
  for (let i = 0; i < 6; i++) sent.push(await send(ctx, producer, topic, 'TagR', makeBody(i, 500 + i * 700, i % 2 ? 'random' : 'text'), i));
  checks.all(sendResultProblems(ctx, sent, 2), '6 sends answered SEND_OK');
  const wantTimes = seq => (failPlan[seq] || []).length + 1;
  await waitDeliveries(ctx, 'failed messages redelivered until consumed', () =>
    sent.every(s => got.times(s.seq) >= wantTimes(s.seq)), 30000);
  await H.sleep(2500); // longer than the retry delay: an extra redelivery would show up here

  const counts = [];
  for (const s of sent) {
    if (got.times(s.seq) !== wantTimes(s.seq)) counts.push(`seq ${s.seq} delivered ${got.times(s.seq)} times, expected ${wantTimes(s.seq)}`);
  }
  checks.all(counts, 'each message delivered once plus once per failed consume, no more');

  const redeliveries = [];
  const timing = [];
  for (const s of sent) {
    const ds = got.bySeq.get(s.seq) || [];
    ds.forEach((d, i) => {
      const opts = { reconsumeTimes: i };
      if (i === 0) {
        redeliveries.push(...compareMessage(ctx, d.msg, s, opts));
        return;
      }
      // Redelivered from %RETRY%<group>; ali-ons puts RETRY_TOPIC back as the topic.
      redeliveries.push(...compareMessage(ctx, d.msg, s, Object.assign(opts, { skipQueue: true, skipMsgId: true })));
      if (d.msg.properties.RETRY_TOPIC !== topic) redeliveries.push(`seq ${s.seq} retry ${i}: RETRY_TOPIC ${d.msg.properties.RETRY_TOPIC}`);
      if (d.msg.properties.ORIGIN_MESSAGE_ID !== s.result.msgId) redeliveries.push(`seq ${s.seq} retry ${i}: ORIGIN_MESSAGE_ID ${d.msg.properties.ORIGIN_MESSAGE_ID} instead of ${s.result.msgId}`);
      const level = 3 + ds[i - 1].reconsumeTimes; // send-back with delayLevel 0
      const want = H.delayLevelMs(level);
      const waited = d.at - failedAt.get(s.seq)[i - 1];
      if (waited < want) timing.push(`seq ${s.seq} retry ${i} came ${waited} ms after the failure (level ${level} = ${want} ms)`);
    });
  }
  checks.all(redeliveries, 'redeliveries carry reconsumeTimes 1, 2, ..., the body, tags, keys, properties, RETRY_TOPIC and ORIGIN_MESSAGE_ID');
  checks.all(timing, 'each redelivery waits at least the delay of level 3 + reconsumeTimes');
  const expectedCalls = Object.values(failPlan).reduce((a, p) => a + p.length, 0);
  checks.eq(sb.calls.length, expectedCalls, 'CONSUMER_SEND_MSG_BACK sent once per failed consume');
  checks.all(sendBackProblems(sb.calls), 'broker accepts every CONSUMER_SEND_MSG_BACK (36)');
  sb.restore();
}

async function dlq(ctx) {
  const { checks, admin } = ctx;
  const topic = ctx.name('ons_dlq');
  const group = ctx.name('CG_dlq');
  const retryTopic = `%RETRY%${group}`;
  const dlqTopic = `%DLQ%${group}`;
  await admin.createTopic(topic, 1, checks);
  const producer = await ctx.producer(ctx.name('PG_dlq'), 'producer');
  const sb = recordSendBacks(ctx);
  const got = new Deliveries(ctx);
  const MAX = 1;
  const c = await ctx.consumer(group, 'consumer', topic, '*', async msg => {
    const d = got.add(msg);
    if (d && msg.properties.fail === 'always') throw new Error('planned failure');
  }, { pollNameServerInteval: 1000, rebalanceInterval: 1000, maxReconsumeTimes: MAX });
  await waitPulling(ctx, c, topic, 1);
  const retryPulled = await H.waitFor(() => [ ...c.processQueueTable.values() ]
    .some(v => v.messageQueue.topic === retryTopic), 15000, 50);
  checks.ok(retryPulled, `consumer gets a route for ${retryTopic} and pulls it`);

  const bad = await send(ctx, producer, topic, 'TagD', makeBody(1, 777, 'random'), 0, { fail: 'always' });
  const good = await send(ctx, producer, topic, 'TagD', makeBody(2, 555, 'random'), 1);
  await waitDeliveries(ctx, `failing message delivered ${MAX + 1} times`, () => got.times(0) >= MAX + 1, 20000);
  let dlqMax = 0;
  const inDlq = await H.waitFor(async () => {
    dlqMax = await admin.maxOffset(dlqTopic, 0).catch(() => 0);
    return dlqMax >= 1;
  }, 10000, 100);
  checks.ok(inDlq && dlqMax === 1, `after ${MAX + 1} failed consumes (maxReconsumeTimes ${MAX}) the message is in ${dlqTopic}`,
    `max offset of ${dlqTopic}/0 is ${dlqMax}`);
  await H.sleep(2500);
  checks.eq(got.times(0), MAX + 1, `failing message delivered exactly ${MAX + 1} times (reconsumeTimes 0..${MAX}), then no more`);
  checks.eq(got.times(1), 1, 'the good message consumed once');
  checks.all(sendBackProblems(sb.calls), 'broker accepts every CONSUMER_SEND_MSG_BACK (36)');
  checks.eq(sb.calls.length, MAX + 1, 'one CONSUMER_SEND_MSG_BACK per failed consume');
  checks.all(compareMessage(ctx, (got.bySeq.get(1) || [ {} ])[0].msg || { properties: {} }, good, { reconsumeTimes: 0 }), 'good message intact');

  // The DLQ copy keeps the body and the user properties (RocketMQ makes %DLQ% topics write-only,
  // so a pull may be refused with NO_PERMISSION; a FOUND pull must be the message).
  const r = await admin.pull(group, dlqTopic, 0, 0).catch(e => ({ error: e }));
  if (r.error) {
    checks.ok(r.error.code === 16, `pull of ${dlqTopic} answers FOUND or NO_PERMISSION (16)`,
      `code ${r.error.code} ${r.error.message}`);
  } else if (r.msgFoundList.length) {
    const m = r.msgFoundList[0];
    const p = compareMessage(ctx, m, bad, { skipQueue: true, skipMsgId: true });
    checks.all(p.filter(x => !/: topic /.test(x)), `${dlqTopic} holds the message with its body and properties`);
    checks.eq(m.topic, dlqTopic, `DLQ message stored under ${dlqTopic}`);
    checks.eq(m.properties.ORIGIN_MESSAGE_ID, bad.result.msgId, 'DLQ message keeps ORIGIN_MESSAGE_ID');
  } else {
    checks.ok(false, `pull of ${dlqTopic} finds the message`, `status ${r.pullStatus}`);
  }
  sb.restore();
}

H.run({ roundtrip, tags, sizes, delay, retry, dlq });
