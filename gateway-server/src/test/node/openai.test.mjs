// OpenAI's Node SDK (openai) against a running gateway, set up as the gateway's README says: baseURL = the gateway's
// /v1 and the gateway token as apiKey. Started by OpenAiNodeSdkTest with BASE_URL and TOKEN.
import OpenAI, { toFile } from "openai";
import { BASE_URL, TOKEN, check, step, raised, describe, done } from "./checks.mjs";

const client = new OpenAI({ baseURL: BASE_URL + "/v1", apiKey: TOKEN, maxRetries: 0 });
const MODEL = "gemini-2.5-flash";
const tools = [{
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
    strict: true,
  },
}];

await step("chat.completions.create", async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello." }],
  });
  check(r.object === "chat.completion" && r.choices[0].message.content === "ok", "a chat completion", r);
  check(r.choices[0].finish_reason === "stop" && r.usage?.prompt_tokens === 7 && r.usage?.completion_tokens === 3,
    "its finish reason and usage", { finish: r.choices[0].finish_reason, usage: r.usage });
});

await step("chat.completions.create stream", async () => {
  const stream = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Count." }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = "";
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  check(text === "Hello!" && finish === "stop", "a streamed chat completion", { text, finish });
  check(usage?.total_tokens === 10, "the stream's usage chunk", usage);
});

await step("chat.completions.stream helper", async () => {
  const runner = client.chat.completions.stream({ model: MODEL, messages: [{ role: "user", content: "Count." }] });
  const final = await runner.finalChatCompletion();
  check(final.choices[0].message.content === "Hello!", "the SDK's stream helper", final.choices[0].message);
});

await step("tools", async () => {
  const messages = [{ role: "user", content: "Weather in Paris?" }];
  const r = await client.chat.completions.create({ model: MODEL, messages, tools, tool_choice: "auto" });
  const call = r.choices[0].message.tool_calls?.[0];
  check(r.choices[0].finish_reason === "tool_calls" && call?.function.name === "get_weather"
    && JSON.parse(call.function.arguments).city === "Paris", "the model calls the tool", r.choices[0]);
  messages.push(r.choices[0].message);
  messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify({ temp: 21 }) });
  const answer = await client.chat.completions.create({ model: MODEL, messages, tools });
  check(answer.choices[0].message.content === "ok", "the tool's result goes back", answer.choices[0]);

  const stream = await client.chat.completions.create({
    model: MODEL, messages: [{ role: "user", content: "Weather in Paris?" }], tools, stream: true,
  });
  let name = "";
  let args = "";
  let finish = null;
  for await (const chunk of stream) {
    for (const t of chunk.choices[0]?.delta?.tool_calls ?? []) {
      name += t.function?.name ?? "";
      args += t.function?.arguments ?? "";
    }
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  check(name === "get_weather" && JSON.parse(args || "{}").city === "Paris" && finish === "tool_calls",
    "a streamed tool call", { name, args, finish });
});

await step("json response_format", async () => {
  const r = await client.chat.completions.create({
    model: MODEL,
    messages: [{ role: "user", content: "Weather in Paris as JSON." }],
    response_format: {
      type: "json_schema",
      json_schema: {
        name: "weather", strict: true,
        schema: { type: "object", properties: { city: { type: "string" }, temp: { type: "number" } },
          required: ["city", "temp"], additionalProperties: false },
      },
    },
  });
  check(JSON.parse(r.choices[0].message.content).temp === 21, "json_schema output", r.choices[0].message);
  const o = await client.chat.completions.create({
    model: MODEL, messages: [{ role: "user", content: "JSON please." }], response_format: { type: "json_object" },
  });
  check(JSON.parse(o.choices[0].message.content).city === "Paris", "json_object output", o.choices[0].message);
});

await step("embeddings", async () => {
  const r = await client.embeddings.create({ model: "gemini-embedding-001", input: ["first", "second"] });
  check(r.data.length === 2 && r.data[1].index === 1 && r.data[0].embedding.length === 3
    && Math.abs(r.data[0].embedding[0] - 0.1) < 1e-6, "embeddings (the SDK asks for base64)", r.data);
});

await step("models", async () => {
  const ids = [];
  for await (const m of client.models.list()) {
    ids.push(m.id);
  }
  check(ids.includes("gemini-2.5-flash") && ids.includes("gemini-embedding-001"), "models.list", ids);
  const m = await client.models.retrieve("gemini-2.5-flash");
  check(m.id === "gemini-2.5-flash" && m.object === "model", "models.retrieve", m);
});

await step("responses", async () => {
  const r = await client.responses.create({ model: MODEL, instructions: "Be brief.", input: "Say hello." });
  check(r.output_text === "ok" && r.status === "completed", "responses.create", r);
  const stream = await client.responses.create({ model: MODEL, input: "Count.", stream: true });
  let text = "";
  let completed = null;
  for await (const event of stream) {
    if (event.type === "response.output_text.delta") {
      text += event.delta;
    } else if (event.type === "response.completed") {
      completed = event.response;
    }
  }
  check(text === "Hello!" && completed?.output?.[0]?.content?.[0]?.text === "Hello!", "responses.create stream", { text, completed });
  const next = await client.responses.create({ model: MODEL, previous_response_id: r.id, input: "And again." });
  check(next.output_text === "ok", "previous_response_id continues the conversation", next.output_text);
});

await step("files", async () => {
  const file = await client.files.create({
    file: await toFile(Buffer.from("The quick brown fox."), "fox.txt", { type: "text/plain" }),
    purpose: "user_data",
  });
  check(/^file-[a-z0-9]+$/.test(file.id) && file.filename === "fox.txt" && file.purpose === "user_data",
    "files.create", file);
  const got = await client.files.retrieve(file.id);
  check(got.id === file.id && got.bytes === file.bytes, "files.retrieve", got);
  const listed = [];
  for await (const f of client.files.list()) {
    listed.push(f.id);
  }
  check(listed.includes(file.id), "files.list", listed);
  for (let i = 0; i < 2; i++) {
    const r = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: [{ type: "file", file: { file_id: file.id } }, { type: "text", text: "Summarise the fox file." }] }],
    });
    check(r.choices[0].message.content === "ok", `a chat completion with the file (${i + 1} of 2)`, r.choices[0]);
  }
  const deleted = await client.files.delete(file.id);
  check(deleted.deleted === true && deleted.id === file.id, "files.delete", deleted);
});

await step("images", async () => {
  const r = await client.images.generate({ model: "imagen-4.0-generate-001", prompt: "a lighthouse", n: 2 });
  check(r.data.length === 2 && r.data[0].b64_json?.startsWith("iVBOR"), "images.generate", r.data?.length);
});

await step("errors", async () => {
  const missing = await raised(() => client.chat.completions.create({
    model: "no-such-model", messages: [{ role: "user", content: "hi" }],
  }));
  check(missing instanceof OpenAI.NotFoundError && missing.status === 404, "an unknown model: NotFoundError",
    describe(missing));
  const bad = new OpenAI({ baseURL: BASE_URL + "/v1", apiKey: "not-the-token", maxRetries: 0 });
  const denied = await raised(() => bad.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }] }));
  check(denied instanceof OpenAI.AuthenticationError && denied.status === 401 && denied.code === "invalid_api_key",
    "a wrong token: AuthenticationError", describe(denied));
  const noModels = await raised(() => bad.models.list());
  check(noModels instanceof OpenAI.AuthenticationError, "a wrong token lists no models", describe(noModels));
  const invalid = await raised(() => client.chat.completions.create({ model: MODEL, messages: [{ role: "wizard", content: "hi" }] }));
  check(invalid instanceof OpenAI.BadRequestError && invalid.status === 400, "an invalid request: BadRequestError",
    describe(invalid));
});

done();
