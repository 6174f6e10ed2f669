// LangChain JS chat models against a running gateway: ChatGoogleGenerativeAI (@langchain/google-genai, the native
// Gemini API; baseUrl = the gateway), ChatOpenAI (@langchain/openai, configuration.baseURL = the gateway's /v1) and
// ChatAnthropic (@langchain/anthropic, anthropicApiUrl = the gateway). For each: invoke, stream, and bindTools with a
// tool call and its result sent back. Started by LangChainSdkTest with BASE_URL and TOKEN.
import { ChatGoogleGenerativeAI } from "@langchain/google-genai";
import { ChatOpenAI } from "@langchain/openai";
import { ChatAnthropic } from "@langchain/anthropic";
import { HumanMessage, SystemMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { BASE_URL, TOKEN, check, step, done } from "./checks.mjs";

const models = [
  ["google-genai", new ChatGoogleGenerativeAI({ model: "gemini-2.5-flash", apiKey: TOKEN, baseUrl: BASE_URL, maxRetries: 0 })],
  ["openai", new ChatOpenAI({ model: "gemini-2.5-flash", apiKey: TOKEN, configuration: { baseURL: BASE_URL + "/v1" }, maxRetries: 0 })],
  ["anthropic", new ChatAnthropic({ model: "claude-sonnet-4-5", apiKey: TOKEN, anthropicApiUrl: BASE_URL, maxRetries: 0 })],
];
const weather = tool(async ({ city }) => JSON.stringify({ city, temp: 21 }), {
  name: "get_weather",
  description: "Current weather in a city",
  schema: z.object({ city: z.string() }),
});

for (const [name, model] of models) {
  await step(`${name} invoke`, async () => {
    const r = await model.invoke([new SystemMessage("Be brief."), new HumanMessage(`hi from ${name}`)]);
    check(r.content === "ok" || r.text === "ok", `${name}: invoke`, r.content);
    check(r.usage_metadata?.input_tokens === 7 && r.usage_metadata?.output_tokens === 3, `${name}: usage`, r.usage_metadata);
  });

  await step(`${name} stream`, async () => {
    let text = "";
    for await (const chunk of await model.stream(`count for ${name}`)) {
      text += typeof chunk.content === "string" ? chunk.content
        : chunk.content.map((c) => c.text ?? "").join("");
    }
    check(text === "Hello!", `${name}: stream`, text);
  });

  await step(`${name} bindTools`, async () => {
    const withTools = model.bindTools([weather]);
    const messages = [new HumanMessage(`Weather in Paris? (${name})`)];
    const r = await withTools.invoke(messages);
    const call = r.tool_calls?.[0];
    check(call?.name === "get_weather" && call.args.city === "Paris", `${name}: a tool call`, r.tool_calls);
    messages.push(r);
    messages.push(new ToolMessage({ tool_call_id: call.id, content: await weather.invoke(call.args) }));
    const answer = await withTools.invoke(messages);
    check(answer.content === "ok" || answer.text === "ok", `${name}: the tool's result goes back`, answer.content);
  });
}

done();
