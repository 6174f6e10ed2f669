// The Vercel AI SDK (ai + @ai-sdk/openai) against a running gateway: its default OpenAI model calls /v1/responses.
// Started by VercelAiSdkTest with BASE_URL and TOKEN; prints one "ok N - ..." line per check, exits 1 on a failure.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText, stepCountIs } from "ai";
import { weatherTools } from "./weather-tool.mjs";

const openai = createOpenAI({ baseURL: process.env.BASE_URL + "/v1", apiKey: process.env.TOKEN });
let n = 0;
function check(condition, what, detail) {
  n++;
  if (!condition) {
    console.log(`not ok ${n} - ${what}: ${JSON.stringify(detail)}`);
    process.exit(1);
  }
  console.log(`ok ${n} - ${what}`);
}

const text = await generateText({ model: openai("gemini-2.5-flash"), prompt: "hi", maxRetries: 0 });
check(text.text === "ok", "generateText answers through /v1/responses", text.text);
check(text.usage.inputTokens === 7 && text.usage.outputTokens === 3, "usage is read", text.usage);

const stream = streamText({ model: openai("gemini-2.5-flash"), prompt: "hi", maxRetries: 0 });
let streamed = "";
for await (const delta of stream.textStream) {
  streamed += delta;
}
check(streamed === "Hello!", "streamText streams the deltas", streamed);
check((await stream.finishReason) === "stop", "the stream finishes with stop", await stream.finishReason);

let asked = null;
const tools = await generateText({
  model: openai("gemini-2.5-flash"),
  prompt: "Weather in Paris?",
  maxRetries: 0,
  stopWhen: stepCountIs(2),
  tools: weatherTools((city) => {
    asked = city;
  }),
});
check(asked === "Paris", "the tool call reaches the tool", asked);
check(tools.steps.length === 2 && tools.text === "ok", "the tool result goes back and the model answers",
  { steps: tools.steps.length, text: tools.text });
