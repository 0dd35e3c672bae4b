// Background mode, cancel, resumable streams, compaction and conversations (Responses API), with the Node `openai` SDK.
// Usage: NODE_PATH=.cache/node/openai/node_modules node responses_more.cjs BASE_URL MARKER PART [UPSTREAM_ROOT]
// PART is background | cancel | refusals | resume | compact | conversations | conversation_response | file_search.
// Prints one JSON line with what the test asserts on (the upstream is scripted by the test, per MARKER; UPSTREAM_ROOT
// is its control API, read to see a call start); exits non-zero on any surprise.
const OpenAI = require("openai");
const { runPart } = require("./parts.cjs");

const [baseURL, marker, part, upstreamRoot] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "test-key", maxRetries: 0, timeout: 30_000 });
const other = new OpenAI({ baseURL, apiKey: "other-key", maxRetries: 0, timeout: 30_000 });
const model = "gpt-4o";
const FINISHED = ["completed", "failed", "incomplete", "cancelled"];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function failure(call) {
  // What an API error looks like to the SDK user: its class, status and error body fields.
  try {
    const value = await call();
    return { no_error: value && (value.status || value.id || true) };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return { class: error.constructor.name, status: error.status, type: error.type, param: error.param,
      code: error.code, message: error.message };
  }
}

async function poll(id, seconds = 20) {
  // Retrieve until the response has ended; return it and the statuses seen (each once, in order).
  const seen = [];
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const response = await client.responses.retrieve(id);
    if (seen[seen.length - 1] !== response.status) seen.push(response.status);
    if (FINISHED.includes(response.status)) return { response, seen };
    if (Date.now() > deadline) throw new Error(`response ${id} still ${response.status} after ${seconds} s`);
    await sleep(50);
  }
}

async function upstreamCalled(match, seconds = 10) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const answer = await fetch(`${upstreamRoot}/_requests?match=${encodeURIComponent(match)}`);
    const { data } = await answer.json();
    if (data.length && data[data.length - 1].chunks_sent > 0) return data[data.length - 1];
    if (Date.now() > deadline) throw new Error(`no upstream call matching ${match} within ${seconds} s`);
    await sleep(20);
  }
}

const summary = (event) => {
  const out = { type: event.type, seq: event.sequence_number };
  if (event.response) Object.assign(out, { id: event.response.id, status: event.response.status });
  if (event.delta !== undefined) out.delta = event.delta;
  if (event.type === "response.output_item.done") out.item_status = event.item.status;
  if (event.type === "response.output_text.done") out.text = event.text;
  return out;
};

async function background() {
  // Polled: queued at once, then retrieve until completed (the upstream answers slowly: in_progress is seen).
  const created = await client.responses.create({ model, input: `later ${marker} polled`, background: true });
  const { response: done, seen } = await poll(created.id);
  // Streamed from the create: response.created (queued), response.queued, response.in_progress, ..., completed.
  const stream = await client.responses.create({ model, input: `streamed ${marker}`, background: true, stream: true });
  const events = [];
  for await (const event of stream) events.push(summary(event));
  const streamedId = events[0].id;
  return {
    created: { id: created.id, object: created.object, status: created.status, background: created.background,
      output: created.output, output_text: created.output_text },
    seen,
    done: { id: done.id, status: done.status, background: done.background, output_text: done.output_text,
      output_types: done.output.map((item) => item.type) },
    stream: events,
    streamed_id: streamedId,
    streamed_final: (await client.responses.retrieve(streamedId)).output_text,
    other_client: {
      retrieve: await failure(() => other.responses.retrieve(created.id)),
      cancel: await failure(() => other.responses.cancel(created.id)),
    },
    without_store: await failure(() => client.responses.create({ model, input: "no", background: true, store: false })),
  };
}

async function cancel() {
  // In progress (the upstream is streaming): cancel -> cancelled; again -> the same cancelled response.
  const created = await client.responses.create({ model, input: `stop me ${marker} polled`, background: true });
  await upstreamCalled(`${marker} polled`);
  await sleep(300);
  const started = Date.now();
  const cancelled = await client.responses.cancel(created.id);
  const took = (Date.now() - started) / 1000;
  const again = await client.responses.cancel(created.id);
  const retrieved = await client.responses.retrieve(created.id);

  // A streamed background response cancelled by another request: its stream ends with no terminal event.
  const stream = await client.responses.create({ model, input: `stop me ${marker} streamed`, background: true,
    stream: true });
  const events = [];
  let cancelledStream = null;
  for await (const event of stream) {
    events.push(summary(event));
    if (event.type === "response.output_text.delta" && cancelledStream === null) {
      cancelledStream = client.responses.cancel(events[0].id);
    }
  }
  return {
    id: created.id,
    cancelled: { status: cancelled.status, background: cancelled.background,
      output: cancelled.output.map((item) => ({ type: item.type, status: item.status })) },
    took,
    again_same: JSON.stringify(again) === JSON.stringify(cancelled) || { again, cancelled },
    retrieved: { status: retrieved.status, output_text: retrieved.output_text },
    stream: events,
    stream_cancel: cancelledStream && (await cancelledStream).status,
    stream_retrieved: await (async () => {
      const response = await client.responses.retrieve(events[0].id);
      return { status: response.status, output_text: response.output_text,
        output: response.output.map((item) => ({ type: item.type, status: item.status })) };
    })(),
    stream_replayed: await (async () => {
      const replayed = [];
      for await (const event of await client.responses.retrieve(events[0].id, { stream: true })) replayed.push(summary(event));
      return replayed;
    })(),
    immediate: await (async () => {
      // Cancelled as soon as it is created (queued, or just taken in progress).
      const response = await client.responses.create({ model, input: `stop me ${marker} immediate`, background: true });
      const cancelledNow = await client.responses.cancel(response.id);
      return { created: response.status, status: cancelledNow.status,
        output: cancelledNow.output.map((item) => ({ type: item.type, status: item.status })),
        retrieved: (await client.responses.retrieve(response.id)).status };
    })(),
  };
}

async function refusals() {
  const finished = (await poll((await client.responses.create({ model, input: `quick ${marker}`, background: true })).id))
    .response;
  const foreground = await client.responses.create({ model, input: `now ${marker}` });
  return {
    completed: await failure(() => client.responses.cancel(finished.id)),
    foreground: await failure(() => client.responses.cancel(foreground.id)),
    unknown: await failure(() => client.responses.cancel("resp_unknown")),
    foreground_stream: await failure(async () => {
      const stream = await client.responses.retrieve(foreground.id, { stream: true });
      for await (const event of stream) return event.type;
      return "empty";
    }),
  };
}

async function resume() {
  // Read part of a background stream, drop it, then resume after the last sequence number seen.
  const stream = await client.responses.create({ model, input: `long ${marker}`, background: true, stream: true });
  const seen = [];
  let id = null;
  for await (const event of stream) {
    if (event.type === "response.created") id = event.response.id;
    seen.push(summary(event));
    if (event.type === "response.output_text.delta" && seen.length > 8) break; // aborts the request
  }
  const cursor = seen[seen.length - 1].seq;
  const statusAtResume = (await client.responses.retrieve(id)).status;
  const resumed = await client.responses.retrieve(id, { stream: true, starting_after: cursor });
  const rest = [];
  let completed = null;
  for await (const event of resumed) {
    rest.push(summary(event));
    if (event.type === "response.completed") completed = event.response;
  }
  // The SDK's helper: responses.stream({response_id, starting_after}) replays from the start, emits after the cursor.
  const helper = client.responses.stream({ response_id: id, starting_after: cursor });
  const helped = [];
  helper.on("event", (event) => helped.push(summary(event)));
  const final = await helper.finalResponse();
  // The whole stream again, from the start.
  const whole = [];
  for await (const event of await client.responses.retrieve(id, { stream: true })) whole.push(summary(event));
  return {
    id, cursor, seen, rest, status_at_resume: statusAtResume,
    completed_text: completed && completed.output[0].content[0].text,
    helped,
    helper_final: { id: final.id, status: final.status, output_text: final.output_text },
    whole,
    retrieved: (await client.responses.retrieve(id)).output_text,
  };
}

async function compact() {
  const compacted = await client.responses.compact({ model, input: `My name is Ada. ${marker} summary` });
  const item = compacted.output[0];
  const follow = await client.responses.create({ model, input: [item, { role: "user", content: `Who am I? ${marker} follow` }] });
  return {
    compacted: { id: compacted.id, object: compacted.object, output: compacted.output.map((o) => ({
      type: o.type, id: o.id, encrypted: typeof o.encrypted_content === "string" && o.encrypted_content.startsWith("askc1:") })),
    usage: compacted.usage && Object.keys(compacted.usage).sort() },
    follow: { status: follow.status, output_text: follow.output_text },
    missing_model: await failure(() => client.responses.compact({ input: "x" })),
    forged: await failure(() => client.responses.create({ model,
      input: [{ type: "compaction", encrypted_content: "not ours" }, { role: "user", content: "hi" }] })),
  };
}

const user = (text) => ({ type: "message", role: "user", content: [{ type: "input_text", text }] });
const itemSummary = (item) => ({ id: item.id, type: item.type, role: item.role,
  text: item.content && item.content[0] && item.content[0].text, part: item.content && item.content[0] && item.content[0].type });

async function conversations() {
  const conversation = await client.conversations.create({ metadata: { topic: "demo" }, items: [
    { role: "developer", content: "Be brief." }, user(`hello ${marker}`),
    { type: "message", role: "assistant", content: "Hi!" },
  ] });
  const retrieved = await client.conversations.retrieve(conversation.id);
  const added = await client.conversations.items.create(conversation.id, { items: [1, 2, 3, 4, 5].map((n) => user(`m${n}`)) });
  const ascending = [];
  for await (const item of client.conversations.items.list(conversation.id, { order: "asc", limit: 2 })) {
    ascending.push(itemSummary(item));
  }
  const firstPage = await client.conversations.items.list(conversation.id, { limit: 3 });
  const pages = [firstPage.data.map((item) => item.id)];
  for (let page = firstPage; page.hasNextPage();) {
    page = await page.getNextPage();
    pages.push(page.data.map((item) => item.id));
  }
  const after = await client.conversations.items.list(conversation.id, { order: "asc", limit: 3, after: ascending[2].id });
  const one = await client.conversations.items.retrieve(ascending[4].id, { conversation_id: conversation.id });
  const afterItemDelete = await client.conversations.items.delete(ascending[4].id, { conversation_id: conversation.id });
  const itemGone = await failure(() => client.conversations.items.retrieve(ascending[4].id, { conversation_id: conversation.id }));
  const updated = await client.conversations.update(conversation.id, { metadata: { topic: "changed" } });
  const foreign = {
    retrieve: await failure(() => other.conversations.retrieve(conversation.id)),
    items: await failure(() => other.conversations.items.list(conversation.id)),
    add: await failure(() => other.conversations.items.create(conversation.id, { items: [user("theirs")] })),
  };
  const remaining = [];
  for await (const item of client.conversations.items.list(conversation.id, { order: "asc" })) remaining.push(item.id);
  const deleted = await client.conversations.delete(conversation.id);
  return {
    conversation, retrieved_same: JSON.stringify(retrieved) === JSON.stringify(conversation) || { retrieved, conversation },
    added: { object: added.object, has_more: added.has_more, first_id: added.first_id, last_id: added.last_id,
      data: added.data.map(itemSummary) },
    ascending,
    first_page: { has_more: firstPage.has_more, first_id: firstPage.first_id, last_id: firstPage.last_id },
    pages,
    after: after.data.map((item) => item.id),
    one: itemSummary(one),
    after_item_delete: afterItemDelete,
    item_gone: itemGone,
    updated,
    foreign,
    remaining,
    deleted,
    after_delete: {
      retrieve: await failure(() => client.conversations.retrieve(conversation.id)),
      items: await failure(() => client.conversations.items.list(conversation.id)),
      delete: await failure(() => client.conversations.delete(conversation.id)),
    },
  };
}

async function conversationResponse() {
  // A response in a conversation reads its items as context and appends its input and output items.
  const conversation = await client.conversations.create({ items: [user(`My name is Ada. ${marker}`),
    { type: "message", role: "assistant", content: "Hello Ada." }] });
  const response = await client.responses.create({ model, conversation: conversation.id, input: `Who am I? ${marker} ask` });
  const items = [];
  for await (const item of client.conversations.items.list(conversation.id, { order: "asc" })) items.push(itemSummary(item));
  const second = await client.responses.create({ model, conversation: { id: conversation.id }, input: `And now? ${marker} again` });
  const after = [];
  for await (const item of client.conversations.items.list(conversation.id, { order: "asc" })) after.push(itemSummary(item));
  return {
    conversation_id: conversation.id,
    response: { id: response.id, status: response.status, conversation: response.conversation, output_text: response.output_text,
      output_ids: response.output.map((item) => item.id) },
    items,
    second: { status: second.status, conversation: second.conversation, output_text: second.output_text,
      output_ids: second.output.map((item) => item.id) },
    after,
    with_previous: await failure(() => client.responses.create({ model, conversation: conversation.id,
      previous_response_id: response.id, input: "both" })),
    unknown: await failure(() => client.responses.create({ model, conversation: "conv_unknown", input: "x" })),
    foreign: await failure(() => other.responses.create({ model, conversation: conversation.id, input: "x" })),
    locked: await locked(),
  };
}

async function locked() {
  // One response at a time per conversation: another create meanwhile is a 409; a cancel releases the lock.
  const conversation = await client.conversations.create({ items: [user(`first ${marker}`)] });
  const slow = await client.responses.create({ model, conversation: conversation.id, input: `slow ${marker} locked`,
    background: true });
  await upstreamCalled(`${marker} locked`);
  const refused = await failure(() => client.responses.create({ model, conversation: conversation.id, input: "meanwhile" }));
  const cancelled = await client.responses.cancel(slow.id);
  const next = await client.responses.create({ model, conversation: conversation.id, input: `next ${marker}` });
  const items = [];
  for await (const item of client.conversations.items.list(conversation.id, { order: "asc" })) items.push(itemSummary(item));
  return { refused, cancelled: cancelled.status, next: { status: next.status, output_text: next.output_text },
    items: items.map((item) => [item.role, item.text]) };
}

async function fileSearch() {
  // file_search over a vector store (the service's EMBEDDING_MODEL embeds it), with its results and a citation.
  const store = await client.vectorStores.create({ name: `docs ${marker}` });
  const file = await client.vectorStores.files.uploadAndPoll(store.id,
    await OpenAI.toFile(Buffer.from(`The vault code for the north tower is 7741. ${marker}`), "notes.txt"));
  const tools = [{ type: "file_search", vector_store_ids: [store.id] }];
  const include = ["file_search_call.results"];
  const response = await client.responses.create({ model: "chat-a", input: `What is the vault code? ${marker} ask`, tools,
    include });
  const stream = client.responses.stream({ model: "chat-a", input: `What is the vault code? ${marker} stream`, tools, include });
  const events = [];
  stream.on("event", (event) => events.push(event.type));
  const final = await stream.finalResponse();
  const shape = (r) => ({ status: r.status, output_text: r.output_text, output: r.output.map((item) => item.type === "file_search_call"
    ? { type: item.type, id: item.id, status: item.status, queries: item.queries,
      results: item.results && item.results.map((x) => ({ file_id: x.file_id, filename: x.filename, text: x.text })) }
    : { type: item.type, status: item.status, annotations: item.content[0].annotations }) });
  return { file_id: file.id, file_status: file.status, response: shape(response), final: shape(final), events };
}

const parts = { background, cancel, refusals, resume, compact, conversations, conversation_response: conversationResponse,
  file_search: fileSearch };
runPart(parts, part);
