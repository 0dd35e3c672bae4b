// The Responses API as OpenAI's migration guide walks through it, with the Node `openai` SDK.
// Usage: NODE_PATH=.cache/node/openai/node_modules node responses_walkthrough.cjs BASE_URL MARKER PART
// PART is chat | functions | structured | stream | manage. Prints one JSON line with what the test
// asserts on (the upstream is scripted by the test, per MARKER); exits non-zero on any surprise.
const { isDeepStrictEqual } = require("node:util");
const OpenAI = require("openai");
const { runPart } = require("./parts.cjs");

const [baseURL, marker, part] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "test-key", maxRetries: 0, timeout: 30_000 });
const model = "gpt-4o";

async function chat() {
  // "Multi-turn conversation": chain turns by previous_response_id instead of resending the history.
  const first = await client.responses.create({ model, input: `tell me a joke ${marker}`, store: true });
  const second = await client.responses.create({
    model, previous_response_id: first.id, input: [{ role: "user", content: "explain why this is funny." }], store: true,
  });
  const third = await client.responses.create({ model, previous_response_id: second.id, input: "tell me another one" });
  return { turns: [first, second, third].map((r) => ({
    id: r.id, status: r.status, previous_response_id: r.previous_response_id, output_text: r.output_text,
  })) };
}

const tools = [{
  type: "function",
  name: "get_weather",
  description: "Get current temperature for a given location.",
  parameters: {
    type: "object",
    properties: { location: { type: "string", description: "City and country e.g. Bogotá, Colombia" } },
    required: ["location"],
    additionalProperties: false,
  },
  strict: true,
}];

function getWeather(location) {
  return JSON.stringify({ location, temperature_c: location.startsWith("Paris") ? 14 : 19 });
}

async function functions() {
  // "Function calling": run each function_call item, answer with function_call_output items.
  const response = await client.responses.create({
    model, input: [{ role: "user", content: `What's the weather like in Paris and Bogotá today? ${marker}` }],
    tools, parallel_tool_calls: true,
  });
  const calls = response.output.filter((item) => item.type === "function_call");
  const outputs = calls.map((call) => {
    if (call.name !== "get_weather") throw new Error(`unexpected call ${call.name}`);
    return { type: "function_call_output", call_id: call.call_id, output: getWeather(JSON.parse(call.arguments).location) };
  });
  const answer = await client.responses.create({ model, previous_response_id: response.id, input: outputs, tools });
  return {
    first: { status: response.status, output_types: response.output.map((item) => item.type), output_text: response.output_text },
    calls: calls.map(({ id, call_id, name, arguments: args, status }) => ({ id, call_id, name, arguments: args, status })),
    outputs,
    answer: { status: answer.status, output_text: answer.output_text, previous_response_id: answer.previous_response_id },
    first_id: response.id,
  };
}

const eventFormat = {
  type: "json_schema",
  name: "calendar_event",
  strict: true,
  schema: {
    type: "object",
    properties: {
      name: { type: "string" },
      date: { type: "string" },
      participants: { type: "array", items: { type: "string" } },
    },
    required: ["name", "date", "participants"],
    additionalProperties: false,
  },
};

async function structured() {
  // "Structured Outputs": text.format instead of response_format; parse() without zod.
  const input = [
    { role: "system", content: "Extract the event information." },
    { role: "user", content: `Alice and Bob are going to a science fair on Friday. ${marker} create` },
  ];
  const created = await client.responses.create({ model, input, text: { format: eventFormat } });
  const parsed = await client.responses.parse({
    model, input: [input[0], { role: "user", content: `Carol hosts a book club on Monday. ${marker} parse` }],
    text: { format: eventFormat },
  });
  return {
    created: { status: created.status, output_text: created.output_text, format: created.text.format },
    parsed: { status: parsed.status, output_parsed: parsed.output_parsed, content_parsed: parsed.output[0].content[0].parsed },
  };
}

function withoutParsed(output) {
  // finalResponse() adds `parsed` to text parts and `parsed_arguments` to calls of strict tools.
  return JSON.parse(JSON.stringify(output, (key, value) => (key === "parsed" || key === "parsed_arguments" ? undefined : value)));
}

async function streamOnce(body) {
  const stream = client.responses.stream(body);
  const events = [];
  const snapshots = [];
  stream.on("event", (event) => events.push(event));
  stream.on("response.output_text.delta", (event) => snapshots.push(event.snapshot));
  const final = await stream.finalResponse();
  const completed = events.find((event) => event.type === "response.completed");
  return {
    kinds: events.map((event) => event.type),
    sequence: events.map((event) => event.sequence_number),
    deltas: events.filter((event) => event.type === "response.output_text.delta").map((event) => event.delta),
    snapshots,
    final: {
      id: final.id, status: final.status, output_text: final.output_text,
      output: final.output.map((item) => ({ type: item.type, status: item.status, name: item.name, arguments: item.arguments,
        parsed_arguments: item.parsed_arguments, text: item.content && item.content[0] && item.content[0].text })),
    },
    same_as_completed: isDeepStrictEqual(withoutParsed(final.output), completed && completed.response.output)
      || { final: final.output, completed: completed && completed.response.output },
    retrieved_text: (await client.responses.retrieve(final.id)).output_text,
  };
}

async function stream() {
  // "Streaming": typed semantic events, each with a sequence_number; finalResponse() assembles them.
  return {
    text: await streamOnce({ model, input: `Say 'double bubble bath' ten times fast. ${marker} text` }),
    calls: await streamOnce({ model, input: `Weather in Paris and Bogotá? ${marker} calls`, tools }),
  };
}

async function manage() {
  // Stored responses: retrieve, list input items (auto-paginated), count input tokens, delete.
  const first = await client.responses.create({ model, input: `first ${marker}` });
  const second = await client.responses.create({
    model, previous_response_id: first.id,
    input: [{ role: "developer", content: "Answer in French." }, { role: "user", content: [{ type: "input_text", text: "second" }] }],
  });
  const retrieved = await client.responses.retrieve(second.id);
  const paged = [];
  for await (const item of client.responses.inputItems.list(second.id, { order: "asc", limit: 1 })) paged.push(item);
  const newestFirst = await client.responses.inputItems.list(second.id);
  const tokens = await client.responses.inputTokens.count({ model, input: "How many tokens is this?" });
  const deleted = await client.responses.delete(second.id);
  const afterDelete = {};
  for (const [name, call] of Object.entries({
    retrieve: () => client.responses.retrieve(second.id),
    input_items: () => client.responses.inputItems.list(second.id),
    delete: () => client.responses.delete(second.id),
    previous: () => client.responses.create({ model, previous_response_id: second.id, input: "third" }),
  })) {
    try {
      await call();
      afterDelete[name] = "no error";
    } catch (error) {
      afterDelete[name] = { not_found: error instanceof OpenAI.NotFoundError, status: error.status,
        param: error.param, type: error.type };
    }
  }
  return {
    ids: { first: first.id, second: second.id },
    retrieved: { id: retrieved.id, previous_response_id: retrieved.previous_response_id, output_text: retrieved.output_text,
      same: isDeepStrictEqual(retrieved, second) || { retrieved, created: second } },
    paged: paged.map((item) => ({ type: item.type, role: item.role, text: item.content[0].text, id: item.id })),
    newest_first: newestFirst.data.map((item) => item.role),
    input_tokens: tokens,
    deleted: deleted === undefined ? null : deleted,
    first_still_there: (await client.responses.retrieve(first.id)).id === first.id,
    after_delete: afterDelete,
  };
}

const parts = { chat, functions, structured, stream, manage };
runPart(parts, part);
