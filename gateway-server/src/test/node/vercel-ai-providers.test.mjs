// The Vercel AI SDK (ai) with the providers that do not go through /v1/responses: @ai-sdk/google (the native Gemini
// API, baseURL = the gateway's /v1beta), @ai-sdk/anthropic (baseURL = the gateway's /v1) and @ai-sdk/openai in chat
// mode (openai.chat(model): /v1/chat/completions). For each: generateText, streamText, a tool round trip (plain and
// streamed) and generateObject. Started by VercelAiProvidersSdkTest with BASE_URL and TOKEN.
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText, generateObject, stepCountIs } from "ai";
import { z } from "zod";
import { BASE_URL, TOKEN, check, step, done } from "./checks.mjs";
import { weatherTools } from "./weather-tool.mjs";

const google = createGoogleGenerativeAI({ baseURL: BASE_URL + "/v1beta", apiKey: TOKEN });
const anthropic = createAnthropic({ baseURL: BASE_URL + "/v1", apiKey: TOKEN });
const openai = createOpenAI({ baseURL: BASE_URL + "/v1", apiKey: TOKEN });
const providers = [
  ["google", google("gemini-2.5-flash")],
  ["anthropic", anthropic("claude-sonnet-4-5")],
  ["openai.chat", openai.chat("gemini-2.5-flash")],
];

for (const [name, model] of providers) {
  await step(`${name} generateText`, async () => {
    const r = await generateText({ model, system: "Be brief.", prompt: `hi from ${name}`, maxRetries: 0 });
    check(r.text === "ok" && r.finishReason === "stop", `${name}: generateText`, { text: r.text, finish: r.finishReason });
    check(r.usage.inputTokens === 7 && r.usage.outputTokens === 3, `${name}: usage`, r.usage);
  });

  await step(`${name} streamText`, async () => {
    const s = streamText({ model, prompt: `count for ${name}`, maxRetries: 0 });
    let text = "";
    for await (const delta of s.textStream) {
      text += delta;
    }
    check(text === "Hello!" && (await s.finishReason) === "stop", `${name}: streamText`, text);
  });

  await step(`${name} tools`, async () => {
    let asked = null;
    const r = await generateText({
      model,
      prompt: `Weather in Paris? (${name})`,
      maxRetries: 0,
      stopWhen: stepCountIs(2),
      tools: weatherTools((city) => {
        asked = city;
      }),
    });
    check(asked === "Paris", `${name}: the tool is called`, asked);
    check(r.steps.length === 2 && r.text === "ok", `${name}: the tool's result goes back`, { steps: r.steps.length, text: r.text });
  });

  await step(`${name} streamText with tools`, async () => {
    let asked = null;
    const s = streamText({
      model,
      prompt: `Weather in Paris, streamed? (${name})`,
      maxRetries: 0,
      stopWhen: stepCountIs(2),
      tools: weatherTools((city) => {
        asked = city;
      }),
    });
    let text = "";
    for await (const delta of s.textStream) {
      text += delta;
    }
    check(asked === "Paris" && text === "Hello!" && (await s.steps).length === 2, `${name}: streamText with a tool`,
      { asked, text });
  });

  await step(`${name} generateObject`, async () => {
    const r = await generateObject({
      model,
      prompt: `Weather in Paris as an object (${name}).`,
      schema: z.object({ city: z.string(), temp: z.number() }),
      maxRetries: 0,
    });
    check(r.object.city === "Paris" && r.object.temp === 21, `${name}: generateObject`, r.object);
  });
}

done();
