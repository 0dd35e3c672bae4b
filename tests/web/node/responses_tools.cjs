// Server-side tools of the Responses API (web_search, mcp) with the Node `openai` SDK.
// Usage: NODE_PATH=.cache/node/openai/node_modules node responses_tools.cjs BASE_URL MARKER PART [MCP_URL]
// PART is web_search | mcp. Prints one JSON line with what the test asserts on (the upstream and the search
// engine are scripted by the test; MCP_URL is the test's MCP server); exits non-zero on any surprise.
const OpenAI = require("openai");
const { runPart } = require("./parts.cjs");

const [baseURL, marker, part, mcpURL] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey: "test-key", maxRetries: 0, timeout: 30_000 });
const model = "gpt-4o";

async function webSearch() {
  // A streamed web search: the events in order, then the final response's call item and citation.
  const stream = client.responses.stream({
    model, input: `Tides at Varuna? ${marker}`, include: ["web_search_call.action.sources"],
    tools: [{ type: "web_search", search_context_size: "low" }],
  });
  const events = [];
  for await (const event of stream) events.push({ type: event.type, seq: event.sequence_number });
  const final = await stream.finalResponse();
  const [call, message] = final.output;
  return { events, status: final.status, output_text: final.output_text, call,
    annotations: message.content[0].annotations };
}

async function mcp() {
  // Approval asked, then given: the call is made on the server and the model answers with its output.
  const tools = [{ type: "mcp", server_label: "calc", server_url: mcpURL, allowed_tools: ["add"] }];
  const asked = await client.responses.create({ model, input: `20 + 22? ${marker}`, tools });
  const approvals = asked.output.filter((item) => item.type === "mcp_approval_request").map((item) => (
    { type: "mcp_approval_response", approval_request_id: item.id, approve: true }));
  const answered = await client.responses.create({ model, previous_response_id: asked.id, input: approvals, tools });
  return { asked: asked.output.map((item) => ({ type: item.type, name: item.name, tools: item.tools && item.tools.map((t) => t.name) })),
    answered: answered.output.map((item) => ({ type: item.type, output: item.output, approval_request_id: item.approval_request_id })),
    request_id: approvals[0] && approvals[0].approval_request_id, output_text: answered.output_text,
    echoed: answered.tools[0] };
}

runPart({ web_search: webSearch, mcp }, part);
