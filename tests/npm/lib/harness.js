'use strict';
// Test harness of the ali-ons suite: arguments, a real namesrvd + brokerd pair on free 127.0.0.1
// ports with a temporary store, an admin client built from ali-ons' own remoting classes, checks
// that are counted and reported, and time bounds on everything. Every process this harness
// starts is killed when the run ends, whether it passed, failed or timed out.

const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const util = require('util');
const { spawn } = require('child_process');
const { createRequire } = require('module');

// ---- arguments --------------------------------------------------------------------------------

function parseArgs(argv) {
  const args = { timeout: 120 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    switch (a) {
      case '--scenario': args.scenario = next(); break;
      case '--namesrvd': args.namesrvd = next(); break;
      case '--brokerd': args.brokerd = next(); break;
      case '--node-modules': args.nodeModules = next(); break;
      case '--timeout': args.timeout = Number(next()); break;
      case '--help': case '-h': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  for (const k of [ 'scenario', 'namesrvd', 'brokerd', 'nodeModules' ]) {
    if (!args[k]) usage(`--${k.replace(/[A-Z]/g, c => '-' + c.toLowerCase())} is required`);
  }
  if (!(args.timeout > 0)) usage('--timeout must be a positive number of seconds');
  return args;
}

function usage(error) {
  const text = 'usage: node ons_suite.js --scenario NAME --namesrvd PATH --brokerd PATH ' +
    '--node-modules DIR [--timeout SECONDS]';
  if (error) {
    console.error(`error: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

// Loads a package from the suite's node_modules (tests/npm/node_modules); a missing install is a
// test failure with the command that fixes it, never a silent skip.
function loadModules(nodeModules) {
  const dir = path.resolve(nodeModules);
  const pkg = path.join(dir, 'ali-ons', 'package.json');
  if (!fs.existsSync(pkg)) {
    console.error(`FAIL: the npm client ali-ons is not installed in ${dir}.\n` +
      `Run \`npm ci --no-audit --no-fund\` in ${path.dirname(dir)} (scripts/test.sh does this).`);
    process.exit(1);
  }
  const req = createRequire(path.join(path.dirname(dir), 'package.json'));
  const expected = req(path.join(path.dirname(dir), 'package.json')).dependencies['ali-ons'];
  const version = JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
  if (version !== expected) {
    console.error(`FAIL: ${dir} has ali-ons ${version}, package.json pins ${expected}.\n` +
      `Run \`npm ci --no-audit --no-fund\` in ${path.dirname(dir)} (scripts/test.sh does this).`);
    process.exit(1);
  }
  return {
    version,
    ons: req('ali-ons'),
    MQClientAPI: req('ali-ons/lib/mq_client_api'),
    RemotingCommand: req('ali-ons/lib/protocol/command/remoting_command'),
    JSON2: req('JSON2'),
  };
}

// ---- log capture ------------------------------------------------------------------------------

// ali-ons logs through options.logger; its lines are kept (the last 400) and printed when a run
// fails. RS_NPM_VERBOSE=1 prints them as they come.
class ClientLog {
  constructor() {
    this.lines = [];
    this.verbose = process.env.RS_NPM_VERBOSE === '1';
    const add = level => (...args) => {
      const line = `${new Date().toISOString()} ${level} ${util.format(...args)}`;
      this.lines.push(line.length > 600 ? line.slice(0, 600) + '...' : line);
      if (this.lines.length > 400) this.lines.shift();
      if (this.verbose) console.log(`[ali-ons] ${line}`);
    };
    this.logger = { info: add('INFO'), warn: add('WARN'), error: add('ERROR'), debug() {} };
  }
}

// ---- checks -----------------------------------------------------------------------------------

class Checks {
  constructor(name) {
    this.name = name;
    this.passed = 0;
    this.failures = [];
  }

  ok(cond, what, detail) {
    if (cond) {
      this.passed++;
      console.log(`ok   - ${what}`);
    } else {
      const text = detail === undefined ? what : `${what}: ${detail}`;
      this.failures.push(text);
      console.log(`FAIL - ${text}`);
    }
    return !!cond;
  }

  eq(actual, expected, what) {
    const same = actual === expected;
    return this.ok(same, what, same ? undefined :
      `got ${util.inspect(actual)}, expected ${util.inspect(expected)}`);
  }

  // Many per-message comparisons as one check: lists the first few problems.
  all(problems, what) {
    return this.ok(problems.length === 0, what, problems.length === 0 ? undefined :
      `${problems.length} problem(s): ${problems.slice(0, 6).join('; ')}` +
      (problems.length > 6 ? '; ...' : ''));
  }
}

// ---- helpers ----------------------------------------------------------------------------------

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function waitFor(pred, timeoutMs, stepMs = 50) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() >= end) return false;
    await sleep(stepMs);
  }
}

// Rejects after ms with a message naming what did not finish.
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Ports for the daemons come from 20000-32767, below Linux's ephemeral range (32768-60999) so
// that no client connection's local port takes one between this check and the daemon's bind;
// random, so that tests running in parallel rarely pick the same one (a start that does not
// come up is retried on other ports anyway).
function portFree(port) {
  return new Promise(resolve => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

// A free port p, with p+1 free as well when pair is set (brokerd's haListenPort).
async function freePort(pair) {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 12766);
    if (await portFree(p) && (!pair || await portFree(p + 1))) return p;
  }
  throw new Error('no free port in 20000-32767');
}

function canConnect(port) {
  return new Promise(resolve => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function tail(file, lines) {
  try {
    const all = fs.readFileSync(file, 'utf8').split('\n');
    return all.slice(-lines).join('\n');
  } catch (e) {
    return `(cannot read ${file}: ${e.message})`;
  }
}

// The delay levels brokerd is started with: short, and level 2 distinct from level 1, so that a
// delayed message can be told from an immediate one and level numbering can be checked.
// RocketMQ's send-back with delayLevel 0 uses level 3 + reconsumeTimes: all 1 s here.
const DELAY_LEVELS = [ '1s', '2s' ].concat(new Array(16).fill('1s'));
function delayLevelMs(level) {
  const m = /^(\d+)([smhd])$/.exec(DELAY_LEVELS[level - 1]);
  return Number(m[1]) * { s: 1000, m: 60000, h: 3600000, d: 86400000 }[m[2]];
}

// ---- processes --------------------------------------------------------------------------------

class Cluster {
  constructor(args, checks) {
    this.args = args;
    this.checks = checks;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `rs-npm-${args.scenario}-`));
    this.children = [];
    this.stopping = false;
    this.brokerName = 'broker-npm';
    this.clusterName = 'DefaultCluster';
  }

  get namesrvAddr() { return `127.0.0.1:${this.namesrvPort}`; }
  get brokerAddr() { return `127.0.0.1:${this.brokerPort}`; }
  get storeDir() { return path.join(this.dir, 'store'); }

  spawnDaemon(name, bin, conf) {
    const confPath = path.join(this.dir, `${name}.conf`);
    fs.writeFileSync(confPath, conf);
    const logPath = path.join(this.dir, `${name}.log`);
    const fd = fs.openSync(logPath, 'a');
    const child = spawn(bin, [ '-c', confPath ], { stdio: [ 'ignore', fd, fd ] });
    fs.closeSync(fd);
    const entry = { name, child, logPath, exited: null };
    child.on('exit', (code, signal) => {
      entry.exited = { code, signal };
      if (!this.stopping) {
        console.log(`FAIL - ${name} exited during the run (code ${code}, signal ${signal}); ` +
          `last lines of ${logPath}:\n${tail(logPath, 30)}`);
        this.checks.failures.push(`${name} exited during the run (code ${code}, signal ${signal})`);
      }
    });
    child.on('error', err => {
      entry.exited = { code: null, signal: null, error: err };
      console.log(`FAIL - cannot start ${bin}: ${err.message}`);
    });
    this.children.push(entry);
    return entry;
  }

  async start() {
    for (const bin of [ this.args.namesrvd, this.args.brokerd ]) {
      if (!fs.existsSync(bin)) throw new Error(`${bin} does not exist (build namesrvd and brokerd)`);
    }
    // Ports are picked free and then bound by the daemons: another test may take one in between,
    // so a start that does not come up is retried on new ports.
    for (let attempt = 1; ; attempt++) {
      this.namesrvPort = await freePort(false);
      this.brokerPort = await freePort(true);
      const ns = this.spawnDaemon('namesrvd', this.args.namesrvd, [
        `listenPort=${this.namesrvPort}`,
        `kvConfigPath=${path.join(this.dir, 'namesrv', 'kvConfig.json')}`,
        '',
      ].join('\n'));
      const bk = this.spawnDaemon('brokerd', this.args.brokerd, [
        `brokerClusterName=${this.clusterName}`,
        `brokerName=${this.brokerName}`,
        'brokerId=0',
        'brokerRole=ASYNC_MASTER',
        'flushDiskType=ASYNC_FLUSH',
        `listenPort=${this.brokerPort}`,
        `haListenPort=${this.brokerPort + 1}`,
        'brokerIP1=127.0.0.1',
        'brokerIP2=127.0.0.1',
        `namesrvAddr=${this.namesrvAddr}`,
        `storePathRootDir=${this.storeDir}`,
        'mappedFileSizeCommitLog=67108864',
        'mappedFileSizeConsumeQueue=600000',
        'autoCreateTopicEnable=true',
        'defaultTopicQueueNums=8',
        `messageDelayLevel=${DELAY_LEVELS.join(' ')}`,
        '',
      ].join('\n'));
      this.stopping = true; // an early exit here is a start failure, reported below
      // Up: both ports accept connections and both daemons are still running half a second
      // later (one that lost its port to another process exits at once).
      let up = await waitFor(async () => !ns.exited && !bk.exited &&
        await canConnect(this.namesrvPort) && await canConnect(this.brokerPort), 15000, 100);
      if (up) {
        await sleep(500);
        up = !ns.exited && !bk.exited;
      }
      if (up) {
        this.stopping = false;
        return;
      }
      const why = `namesrvd ${ns.exited ? 'exited' : 'running'}, brokerd ${bk.exited ? 'exited' : 'running'}`;
      await this.stop();
      if (attempt >= 3) {
        throw new Error(`namesrvd/brokerd did not come up (${why}); namesrvd log:\n` +
          `${tail(ns.logPath, 20)}\nbrokerd log:\n${tail(bk.logPath, 20)}`);
      }
      console.log(`note: start attempt ${attempt} failed (${why}); retrying on other ports`);
      this.children = [];
      this.stopping = false;
    }
  }

  // SIGTERM, then SIGKILL after 5 s. Returns { name: {code, signal, ms} }.
  async stop() {
    this.stopping = true;
    const result = {};
    await Promise.all(this.children.slice().reverse().map(async e => {
      const t0 = Date.now();
      if (!e.exited) {
        try { e.child.kill('SIGTERM'); } catch (err) { /* gone */ }
        const done = await waitFor(() => !!e.exited, 5000, 20);
        if (!done) {
          try { e.child.kill('SIGKILL'); } catch (err) { /* gone */ }
          await waitFor(() => !!e.exited, 2000, 20);
          result[e.name] = { code: null, signal: 'SIGKILL', ms: Date.now() - t0, killed: true };
          return;
        }
        result[e.name] = Object.assign({ ms: Date.now() - t0 }, e.exited);
      } else {
        result[e.name] = Object.assign({ ms: 0, before: true }, e.exited);
      }
    }));
    return result;
  }

  killNow() {
    this.stopping = true;
    for (const e of this.children) {
      if (!e.exited) {
        try { e.child.kill('SIGKILL'); } catch (err) { /* gone */ }
      }
    }
  }

  printLogs(lines) {
    for (const e of this.children) {
      console.log(`---- last ${lines} lines of ${e.logPath}`);
      console.log(tail(e.logPath, lines));
    }
  }

  cleanup() {
    if (process.env.RS_NPM_KEEP === '1') {
      console.log(`note: kept ${this.dir} (RS_NPM_KEEP=1)`);
      return;
    }
    try { fs.rmSync(this.dir, { recursive: true, force: true }); } catch (e) { /* best effort */ }
  }
}

// ---- admin client (ali-ons' remoting classes, plain requests) ----------------------------------

const CODE = {
  SUCCESS: 0, REQUEST_CODE_NOT_SUPPORTED: 3, TOPIC_NOT_EXIST: 17, QUERY_NOT_FOUND: 22,
  PULL_MESSAGE: 11, QUERY_CONSUMER_OFFSET: 14, UPDATE_AND_CREATE_TOPIC: 17, GET_MAX_OFFSET: 30,
  CONSUMER_SEND_MSG_BACK: 36, GET_ROUTEINTO_BY_TOPIC: 105, GET_BROKER_CLUSTER_INFO: 106,
};

class Admin {
  constructor(mods, cluster, logger) {
    this.mods = mods;
    this.cluster = cluster;
    this.api = new mods.MQClientAPI({
      nameSrv: cluster.namesrvAddr,
      httpclient: noHttp,
      logger,
      responseTimeout: 5000,
    });
    this.api.on('error', () => {});
  }

  async ready() { await withTimeout(this.api.ready(), 10000, 'admin client start'); }

  async call(addr, code, header, timeoutMs = 5000) {
    const cmd = this.mods.RemotingCommand.createRequestCommand(code, header || null);
    return await this.api.invoke(addr, cmd, timeoutMs);
  }

  // GET_BROKER_CLUSTER_INFO (106) until our broker is registered with the name server.
  async waitBrokerRegistered(timeoutMs) {
    let last = '';
    const ok = await waitFor(async () => {
      try {
        const r = await this.call(null, CODE.GET_BROKER_CLUSTER_INFO, null);
        if (r.code !== CODE.SUCCESS || !r.body) { last = `code ${r.code} ${r.remark}`; return false; }
        const info = this.mods.JSON2.parse(r.body.toString());
        const b = info.brokerAddrTable && info.brokerAddrTable[this.cluster.brokerName];
        last = r.body.toString();
        return !!(b && b.brokerAddrs && b.brokerAddrs[0] === this.cluster.brokerAddr);
      } catch (e) { last = e.message; return false; }
    }, timeoutMs, 100);
    if (!ok) throw new Error(`broker ${this.cluster.brokerAddr} not registered with the name server ` +
      `within ${timeoutMs} ms (last cluster info: ${last})`);
  }

  async route(topic) {
    const r = await this.call(null, CODE.GET_ROUTEINTO_BY_TOPIC, { topic });
    if (r.code !== CODE.SUCCESS || !r.body) return null;
    return this.mods.JSON2.parse(r.body.toString());
  }

  // Creates the topic as the ali-ons captures do: UPDATE_AND_CREATE_TOPIC (17) at the master with
  // ali-ons' own MQClientAPI.createTopic, then waits until the name server routes it.
  async createTopic(topic, queueNums, checks) {
    const cfg = {
      topicName: topic, readQueueNums: queueNums, writeQueueNums: queueNums, perm: 6,
      topicFilterType: 'SINGLE_TAG', topicSysFlag: 0, order: false,
    };
    let answer;
    try {
      await this.api.createTopic(this.cluster.brokerAddr, 'TBW102', cfg, 5000);
      answer = 'SUCCESS';
    } catch (e) {
      answer = `code ${e.code}, remark ${util.inspect(e.message)}`;
    }
    checks.eq(answer, 'SUCCESS', `UPDATE_AND_CREATE_TOPIC (17) ${topic} with ${queueNums} queues`);
    if (answer !== 'SUCCESS') throw new Error(`UPDATE_AND_CREATE_TOPIC ${topic}: ${answer}`);
    let route = null;
    const routed = await waitFor(async () => {
      route = await this.route(topic).catch(() => null);
      return !!route;
    }, 10000, 100);
    checks.ok(routed, `name server routes ${topic} within 10 s of its creation`);
    if (route) {
      const q = (route.queueDatas || []).find(d => d.brokerName === this.cluster.brokerName);
      checks.ok(q && q.readQueueNums === queueNums && q.writeQueueNums === queueNums && q.perm === 6,
        `route of ${topic}: ${queueNums} read/write queues, perm 6`, JSON.stringify(route.queueDatas));
    }
    return routed;
  }

  async maxOffset(topic, queueId) {
    const r = await this.call(this.cluster.brokerAddr, CODE.GET_MAX_OFFSET, { topic, queueId });
    if (r.code !== CODE.SUCCESS) throw new Error(`GET_MAX_OFFSET ${topic}/${queueId}: code ${r.code} ${r.remark}`);
    return Number(r.extFields.offset);
  }

  async consumerOffset(group, topic, queueId) {
    const r = await this.call(this.cluster.brokerAddr, CODE.QUERY_CONSUMER_OFFSET,
      { topic, consumerGroup: group, queueId });
    if (r.code === CODE.QUERY_NOT_FOUND) return -1;
    if (r.code !== CODE.SUCCESS) throw new Error(`QUERY_CONSUMER_OFFSET: code ${r.code} ${r.remark}`);
    return Number(r.extFields.offset);
  }

  // One PULL_MESSAGE (no suspend) decoded by ali-ons' decoder.
  async pull(group, topic, queueId, offset, maxMsgNums = 32) {
    return await this.api.pullMessage(this.cluster.brokerAddr, {
      consumerGroup: group, topic, queueId, queueOffset: offset, maxMsgNums,
      sysFlag: 0, commitOffset: 0, suspendTimeoutMillis: 0, subscription: '*', subVersion: 0,
    }, 5000);
  }

  async close() {
    try { await withTimeout(this.api.close(), 5000, 'admin close'); } catch (e) { /* ignore */ }
  }
}

// ali-ons asserts an httpclient even when nameSrv is given; it is only used for the ONS address
// lookup, which nameSrv replaces.
const noHttp = {
  async request() { throw new Error('no HTTP in this suite: nameSrv is set'); },
};

// ---- the run ----------------------------------------------------------------------------------

// Runs scenario(ctx) against a fresh namesrvd + brokerd and exits with 0 only if every check
// passed, the scenario finished in time and brokerd shut down cleanly on SIGTERM.
async function run(scenarios) {
  const args = parseArgs(process.argv.slice(2));
  const scenario = scenarios[args.scenario];
  if (!scenario) usage(`unknown scenario ${args.scenario} (have: ${Object.keys(scenarios).join(', ')})`);
  const mods = loadModules(args.nodeModules);
  const checks = new Checks(args.scenario);
  const log = new ClientLog();
  const cluster = new Cluster(args, checks);
  const started = Date.now();
  const clients = [];
  let finished = false;

  const finish = async (code, why) => {
    if (finished) return;
    finished = true;
    if (why) console.log(`FAIL - ${why}`);
    const failed = code !== 0 || checks.failures.length > 0;
    if (failed) {
      console.log('---- last ali-ons log lines');
      console.log(log.lines.slice(-80).join('\n'));
      cluster.printLogs(40);
    }
    cluster.killNow();
    cluster.cleanup();
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`ons-${args.scenario} (ali-ons ${mods.version}, ${secs} s): ` +
      `${checks.passed} passed, ${checks.failures.length + (why ? 1 : 0)} failed`);
    process.exit(failed ? 1 : 0);
  };

  process.on('exit', () => cluster.killNow());
  for (const sig of [ 'SIGINT', 'SIGTERM' ]) process.on(sig, () => finish(1, `interrupted by ${sig}`));
  process.on('unhandledRejection', err => {
    log.logger.error('unhandled rejection: %s', err && err.stack || err);
  });
  const overall = setTimeout(() => finish(1, `overall timeout of ${args.timeout} s reached`),
    args.timeout * 1000);

  try {
    console.log(`ons-${args.scenario}: ali-ons ${mods.version}, node ${process.version}, dir ${cluster.dir}`);
    await cluster.start();
    console.log(`namesrvd on ${cluster.namesrvAddr}, brokerd on ${cluster.brokerAddr}`);
    const admin = new Admin(mods, cluster, log.logger);
    clients.push(admin);
    await admin.ready();
    await admin.waitBrokerRegistered(15000);
    const ctx = new Context(args, mods, cluster, admin, checks, log, clients);
    await scenario(ctx);
    // Close the clients (UNREGISTER_CLIENT, offsets) before the broker goes.
    for (const c of clients.reverse()) {
      try { await withTimeout(c.close(), 10000, 'client close'); } catch (e) {
        checks.ok(false, 'ali-ons client closes', e.message);
      }
    }
    const stopped = await cluster.stop();
    const b = stopped.brokerd || {};
    checks.ok(b.code === 0 && !b.killed,
      'brokerd exits 0 on SIGTERM within 5 s', JSON.stringify(b));
    checks.ok(!fs.existsSync(path.join(cluster.storeDir, 'abort')),
      'no abort file left in the store after SIGTERM');
  } catch (err) {
    clearTimeout(overall);
    await finish(1, `scenario stopped by an error: ${err && err.stack || err}`);
    return;
  }
  clearTimeout(overall);
  await finish(0);
}

// What a scenario gets: clients bound to this cluster, unique names, and the checks.
class Context {
  constructor(args, mods, cluster, admin, checks, log, clients) {
    Object.assign(this, { args, mods, cluster, admin, checks, log, clients });
    this.runId = `${process.pid}${Date.now().toString(36)}`;
    this.clientErrors = [];
  }

  name(prefix) { return `${prefix}_${this.runId}`; }

  baseOptions(instanceName) {
    return {
      httpclient: noHttp,
      nameSrv: this.cluster.namesrvAddr,
      accessKeyId: 'test',
      accessKeySecret: 'test',
      clientIP: '127.0.0.1',
      instanceName,
      logger: this.log.logger,
    };
  }

  async producer(group, instanceName, extra) {
    const p = new this.mods.ons.Producer(Object.assign(this.baseOptions(instanceName),
      { producerGroup: group }, extra || {}));
    p.on('error', err => this.clientErrors.push({ who: `producer ${group}`, err }));
    this.clients.push(p);
    await withTimeout(p.ready(), 15000, `producer ${group} start`);
    return p;
  }

  // A push consumer from the first offset of a new group; handler gets each message.
  async consumer(group, instanceName, topic, expr, handler, extra) {
    const c = new this.mods.ons.Consumer(Object.assign(this.baseOptions(instanceName), {
      consumerGroup: group,
      consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    }, extra || {}));
    c.on('error', err => this.clientErrors.push({ who: `consumer ${group}`, err }));
    c.subscribe(topic, expr, async (msg, mq) => await handler(msg, mq));
    this.clients.push(c);
    await withTimeout(c.ready(), 15000, `consumer ${group} start`);
    return c;
  }

  async closeClient(c) {
    const i = this.clients.indexOf(c);
    if (i >= 0) this.clients.splice(i, 1);
    await withTimeout(c.close(), 10000, 'client close');
  }
}

module.exports = {
  run, sleep, waitFor, withTimeout, delayLevelMs, DELAY_LEVELS, CODE,
};
