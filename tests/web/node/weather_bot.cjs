// The Weather Bot walkthrough with the Node `openai` SDK, polling then streaming.
// Usage: NODE_PATH=.cache/node/openai/node_modules node weather_bot.cjs BASE_URL MARKER
// Prints one JSON line with what the test asserts on; exits non-zero on any surprise.
// SDK 5 and later: a run's methods take the run id first and the thread id in the params.
const OpenAI = require("openai");

const [baseURL, marker] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "node-key", maxRetries: 0 });
const weather = JSON.stringify({ temperature: 68, unit: "F" });
const tool = {
  type: "function",
  function: {
    name: "getCurrentWeather",
    description: "Get the weather in location",
    parameters: {
      type: "object",
      properties: { location: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } },
      required: ["location"],
    },
  },
};

function outputsFor(run) {
  return run.required_action.submit_tool_outputs.tool_calls.map((call) => {
    if (call.function.name !== "getCurrentWeather") throw new Error(`unexpected call ${call.function.name}`);
    return { tool_call_id: call.id, output: weather };
  });
}

async function lastAnswer(threadId) {
  const messages = await client.beta.threads.messages.list(threadId, { order: "desc", limit: 1 });
  return messages.data[0].content[0].text.value;
}

async function polling(assistantId) {
  const thread = await client.beta.threads.create();
  await client.beta.threads.messages.create(thread.id, { role: "user", content: `Weather in San Francisco? ${marker} poll` });
  let run = await client.beta.threads.runs.createAndPoll(thread.id, { assistant_id: assistantId }, { pollIntervalMs: 20 });
  if (run.status !== "requires_action") throw new Error(`polling: run is ${run.status}`);
  run = await client.beta.threads.runs.submitToolOutputsAndPoll(
    run.id, { thread_id: thread.id, tool_outputs: outputsFor(run) }, { pollIntervalMs: 20 },
  );
  return { status: run.status, answer: await lastAnswer(thread.id) };
}

async function streaming(assistantId) {
  const thread = await client.beta.threads.create({
    messages: [{ role: "user", content: `Weather in San Francisco? ${marker} stream` }],
  });
  const events = [];
  const first = client.beta.threads.runs.stream(thread.id, { assistant_id: assistantId });
  first.on("event", (e) => events.push(e.event));
  const waiting = await first.finalRun();
  if (waiting.status !== "requires_action") throw new Error(`streaming: run is ${waiting.status}`);
  let text = "";
  const second = client.beta.threads.runs.submitToolOutputsStream(waiting.id, {
    thread_id: thread.id, tool_outputs: outputsFor(waiting),
  });
  second.on("event", (e) => events.push(e.event));
  second.on("textDelta", (delta) => { text += delta.value; });
  const done = await second.finalRun();
  return { status: done.status, text, events, answer: await lastAnswer(thread.id) };
}

(async () => {
  const assistant = await client.beta.assistants.create({
    name: "Weather Bot",
    instructions: "You are a weather bot. Use the provided functions to answer questions.",
    model: "gpt-4o",
    tools: [tool],
  });
  const result = { polling: await polling(assistant.id), streaming: await streaming(assistant.id) };
  console.log(JSON.stringify(result));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
