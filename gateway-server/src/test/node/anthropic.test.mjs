// Anthropic's TypeScript SDK (@anthropic-ai/sdk) against a running gateway, set up as the gateway's README says:
// baseURL = the gateway (no /v1) and the gateway token as apiKey (x-api-key). Started by AnthropicNodeSdkTest with
// BASE_URL and TOKEN.
import Anthropic from "@anthropic-ai/sdk";
import { BASE_URL, TOKEN, check, step, raised, describe, done } from "./checks.mjs";

const client = new Anthropic({ baseURL: BASE_URL, apiKey: TOKEN, maxRetries: 0 });
const viaPrefix = new Anthropic({ baseURL: BASE_URL + "/anthropic", authToken: TOKEN, apiKey: null, maxRetries: 0 });
const MODEL = "claude-sonnet-4-5";
const tools = [{
  name: "get_weather",
  description: "Current weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
}];

await step("messages.create", async () => {
  const m = await client.messages.create({
    model: MODEL, max_tokens: 256, system: "Be brief.", messages: [{ role: "user", content: "Say hello." }],
  });
  check(m.type === "message" && m.role === "assistant" && m.content[0]?.type === "text" && m.content[0].text === "ok",
    "a message", m);
  check(m.model === MODEL && m.stop_reason === "end_turn" && m.usage.input_tokens === 7 && m.usage.output_tokens === 3,
    "its model, stop reason and usage", m);
  const p = await viaPrefix.messages.create({ model: MODEL, max_tokens: 64, messages: [{ role: "user", content: "Hi" }] });
  check(p.content[0]?.text === "ok", "under /anthropic with an auth token (Authorization: Bearer)", p);
});

await step("messages.stream", async () => {
  const stream = client.messages.stream({ model: MODEL, max_tokens: 256, messages: [{ role: "user", content: "Count." }] });
  let text = "";
  stream.on("text", (delta) => {
    text += delta;
  });
  const final = await stream.finalMessage();
  check(text === "Hello!" && final.content[0].text === "Hello!", "a streamed message", { text, final });
  check(final.stop_reason === "end_turn" && final.usage.output_tokens === 3, "the stream's stop reason and usage", final);

  const raw = await client.messages.create({
    model: MODEL, max_tokens: 256, stream: true, messages: [{ role: "user", content: "Count." }],
  });
  const types = [];
  for await (const event of raw) {
    types.push(event.type);
  }
  check(types[0] === "message_start" && types.at(-1) === "message_stop" && types.includes("content_block_delta"),
    "stream: true gives Anthropic's events", types);
});

await step("tool use", async () => {
  const messages = [{ role: "user", content: "Weather in Paris?" }];
  const m = await client.messages.create({ model: MODEL, max_tokens: 256, messages, tools });
  const use = m.content.find((b) => b.type === "tool_use");
  check(m.stop_reason === "tool_use" && use?.name === "get_weather" && use.input.city === "Paris", "a tool_use block", m);
  messages.push({ role: "assistant", content: m.content });
  messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: '{"temp":21}' }] });
  const answer = await client.messages.create({ model: MODEL, max_tokens: 256, messages, tools });
  check(answer.content[0]?.text === "ok", "the tool's result goes back", answer);

  const stream = client.messages.stream({
    model: MODEL, max_tokens: 256, tools, messages: [{ role: "user", content: "Weather in Paris?" }],
  });
  let json = "";
  stream.on("inputJson", (delta) => {
    json += delta;
  });
  const final = await stream.finalMessage();
  const streamedUse = final.content.find((b) => b.type === "tool_use");
  check(final.stop_reason === "tool_use" && streamedUse?.input?.city === "Paris" && JSON.parse(json).city === "Paris",
    "a streamed tool_use", { final, json });
});

await step("countTokens", async () => {
  const r = await client.messages.countTokens({ model: MODEL, messages: [{ role: "user", content: "How many?" }] });
  check(r.input_tokens === 7, "messages.countTokens", r);
});

await step("errors", async () => {
  const missing = await raised(() => client.messages.create({
    model: "no-such-model", max_tokens: 16, messages: [{ role: "user", content: "hi" }],
  }));
  check(missing instanceof Anthropic.NotFoundError && missing.status === 404
    && missing.error?.error?.type === "not_found_error", "an unknown model: NotFoundError", describe(missing));
  const bad = new Anthropic({ baseURL: BASE_URL, apiKey: "not-the-token", maxRetries: 0 });
  const denied = await raised(() => bad.messages.create({ model: MODEL, max_tokens: 16, messages: [{ role: "user", content: "hi" }] }));
  check(denied instanceof Anthropic.AuthenticationError && denied.status === 401
    && denied.error?.error?.type === "authentication_error", "a wrong key: AuthenticationError", describe(denied));
  const invalid = await raised(() => client.messages.create({ model: MODEL, max_tokens: 16, messages: [] }));
  check(invalid instanceof Anthropic.BadRequestError && invalid.status === 400
    && invalid.error?.error?.type === "invalid_request_error", "an invalid request: BadRequestError", describe(invalid));
});

done();
