// A worked example of the integrator API in Node.js, from the .proto files alone (README "Integrator API").
//
//   npm ci && HX_TARGET=127.0.0.1:50051 HX_INTAKE_TOKEN=hx_... HX_ANALYST_TOKEN=hx_... node client.js
//
// It submits a report (and retries it with the same request_id), reads the error reasons of two refusals,
// pages through the events until the token comes back empty, then tails the stream from the last cursor
// (skipping heartbeats) until the next report's item appears. Each step prints one JSON line.
// Synthetic data only: URLs under .example.
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const ROOT = path.resolve(__dirname, '..', '..');
const PROTO = path.join(ROOT, 'proto');
const GOOGLEAPIS = path.join(ROOT, 'third_party', 'googleapis');

const target = process.env.HX_TARGET || '127.0.0.1:50051';
const tokens = { intake: process.env.HX_INTAKE_TOKEN, analyst: process.env.HX_ANALYST_TOKEN };

const definition = protoLoader.loadSync(
  ['hotline/node/v1/intake_service.proto', 'hotline/node/v1/case_service.proto', 'hotline/node/v1/event_service.proto'],
  { includeDirs: [PROTO], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true },
);
const v1 = grpc.loadPackageDefinition(definition).hotline.node.v1;

// Keepalive pings every 10 s: the node's documented minimum (min_client_ping_seconds). Pinging more often
// gets GOAWAY "too_many_pings". With TLS, use grpc.credentials.createSsl(rootCert) instead.
const options = { 'grpc.keepalive_time_ms': 10000, 'grpc.keepalive_timeout_ms': 5000 };
const credentials = grpc.credentials.createInsecure();
const intake = new v1.IntakeService(target, credentials, options);
const cases = new v1.CaseService(target, credentials, options);
const events = new v1.EventService(target, credentials, options);

function bearer(token) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

function unary(stub, method, request, token) {
  return new Promise((resolve, reject) => {
    stub[method](request, bearer(token), (error, response) => (error ? reject(error) : resolve(response)));
  });
}

// google.rpc.Status from the grpc-status-details-bin trailer, decoded with third_party/googleapis.
const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, file) => (file.startsWith('google/protobuf/') ? file : path.join(GOOGLEAPIS, file));
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const Status = rpc.lookupType('google.rpc.Status');
const ErrorInfo = rpc.lookupType('google.rpc.ErrorInfo');

function errorInfo(error) {
  const [raw] = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
  if (!raw) return null;
  for (const detail of Status.decode(raw).details) {
    if (detail.type_url.endsWith('/google.rpc.ErrorInfo')) {
      return ErrorInfo.toObject(ErrorInfo.decode(detail.value));
    }
  }
  return null;
}

async function refusal(promise) {
  try {
    await promise;
  } catch (error) {
    const info = errorInfo(error) || {};
    return { code: grpc.status[error.code], reason: info.reason, metadata: info.metadata || {} };
  }
  throw new Error('the call was expected to fail');
}

function say(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function report(url, requestId) {
  return { request_id: requestId, urls: [{ url }], reporter: { anonymous: true } };
}

async function main() {
  const requestId = `node-example-${process.pid}`;
  const first = await unary(intake, 'SubmitReport', report('https://nl.host.example/node-example', requestId), tokens.intake);
  const retry = await unary(intake, 'SubmitReport', report('https://nl.host.example/node-example', requestId), tokens.intake);
  say({ step: 'submitted', report_id: first.report.report_id, replayed_same: retry.report.report_id === first.report.report_id });

  say({ step: 'refused', ...(await refusal(unary(cases, 'GetItem', { item_id: 'not-an-id' }, tokens.analyst))) });
  const tooMany = { urls: Array.from({ length: 101 }, (_, i) => ({ url: `https://nl.host.example/many/${i}` })) };
  say({ step: 'refused', ...(await refusal(unary(intake, 'SubmitReport', tooMany, tokens.intake))) });

  // Paging ends with an empty token (caught up); the last event's cursor resumes.
  let token = '';
  let cursor = '';
  let count = 0;
  let pages = 0;
  do {
    const page = await unary(events, 'ListEvents', { page_size: 2, page_token: token }, tokens.analyst);
    pages += 1;
    count += page.events.length;
    if (page.events.length) cursor = page.events[page.events.length - 1].cursor;
    token = page.next_page_token;
  } while (token !== '');
  say({ step: 'paged', events: count, pages });

  // Tail from the cursor: only what happens next arrives. A response without an event is a heartbeat.
  const stream = events.StreamEvents({ after_cursor: cursor }, bearer(tokens.analyst));
  const seen = new Promise((resolve, reject) => {
    stream.on('data', (response) => {
      if (response.event && response.event.kind === 'item.created') resolve(response.event);
    });
    stream.on('error', (error) => {
      if (error.code !== grpc.status.CANCELLED) reject(error);
    });
  });
  await unary(intake, 'SubmitReport', report('https://nl.host.example/node-example/next'), tokens.intake);
  const created = await seen;
  stream.cancel();
  say({ step: 'streamed', kind: created.kind, item_id: created.item_id });
  say({ step: 'done' });
}

main()
  .catch((error) => {
    say({ step: 'failed', error: String(error && error.message) });
    process.exitCode = 1;
  })
  .finally(() => {
    intake.close();
    cases.close();
    events.close();
  });
