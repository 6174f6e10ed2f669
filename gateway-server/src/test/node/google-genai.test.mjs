// Google's Gen AI SDK for JavaScript (@google/genai) against a running gateway, the way its README sets it up: the
// gateway's URL as httpOptions.baseUrl and the gateway token as apiKey. Started by GoogleGenAiNodeSdkTest with
// BASE_URL and TOKEN; the gateway has several keys, each a Cloud project of its own, so the upload, the file, the
// cache and the calls that use them must all go to the key that uploaded the file.
import { GoogleGenAI, createPartFromUri, createUserContent, ApiError } from "@google/genai";
import { BASE_URL, TOKEN, check, step, raised, describe, done } from "./checks.mjs";

const ai = new GoogleGenAI({ apiKey: TOKEN, httpOptions: { baseUrl: BASE_URL } });
const MODEL = "gemini-2.5-flash";

await step("generateContent", async () => {
  const r = await ai.models.generateContent({ model: MODEL, contents: "Say hello." });
  check(r.text === "ok", "generateContent answers", r.text);
  check(r.usageMetadata?.totalTokenCount === 10, "generateContent's usage is read", r.usageMetadata);
});

await step("generateContentStream", async () => {
  const stream = await ai.models.generateContentStream({ model: MODEL, contents: "Count." });
  let text = "";
  let chunks = 0;
  for await (const chunk of stream) {
    text += chunk.text ?? "";
    chunks++;
  }
  check(text === "Hello!" && chunks === 3, "generateContentStream streams three chunks", { text, chunks });
});

await step("countTokens", async () => {
  const r = await ai.models.countTokens({ model: MODEL, contents: "How many tokens?" });
  check(r.totalTokens === 7, "countTokens answers", r);
});

await step("embedContent", async () => {
  const r = await ai.models.embedContent({ model: "gemini-embedding-001", contents: "embed me" });
  check(JSON.stringify(r.embeddings?.[0]?.values) === "[0.1,0.2,0.3]", "embedContent answers", r);
});

await step("models.list and models.get", async () => {
  const names = [];
  for await (const m of await ai.models.list()) {
    names.push(m.name);
  }
  check(names.includes("models/gemini-2.5-flash") && names.includes("models/gemini-embedding-001"),
    "models.list lists the upstream's models", names);
  const m = await ai.models.get({ model: MODEL });
  check(m.name === "models/gemini-2.5-flash" && m.inputTokenLimit === 1048576, "models.get answers", m);
});

let file = null;
await step("files.upload, files.get and the file in generateContent", async () => {
  file = await ai.files.upload({
    file: new Blob(["The quick brown fox."], { type: "text/plain" }),
    config: { mimeType: "text/plain", displayName: "fox.txt" },
  });
  check(/^files\/[a-z0-9]+$/.test(file.name) && file.uri?.endsWith(file.name), "files.upload returns the file", file);
  const got = await ai.files.get({ name: file.name });
  check(got.name === file.name && got.state === "ACTIVE" && got.displayName === "fox.txt", "files.get finds it", got);
  for (let i = 0; i < 3; i++) {
    const r = await ai.models.generateContent({
      model: MODEL,
      contents: createUserContent([createPartFromUri(file.uri, file.mimeType), "Summarise the file."]),
    });
    check(r.text === "ok", `generateContent with the file (${i + 1} of 3)`, r.text);
  }
  const stream = await ai.models.generateContentStream({
    model: MODEL,
    contents: createUserContent([createPartFromUri(file.uri, file.mimeType), "Summarise the file."]),
  });
  let text = "";
  for await (const chunk of stream) {
    text += chunk.text ?? "";
  }
  check(text === "Hello!", "generateContentStream with the file", text);
});

await step("caches.create and a generateContent that uses the cache", async () => {
  const cache = await ai.caches.create({
    model: MODEL,
    config: {
      contents: createUserContent([createPartFromUri(file.uri, file.mimeType), "Remember this file."]),
      systemInstruction: "You answer from the file.",
      displayName: "fox-cache",
      ttl: "600s",
    },
  });
  check(/^cachedContents\/[a-z0-9]+$/.test(cache.name) && cache.displayName === "fox-cache", "caches.create", cache);
  const got = await ai.caches.get({ name: cache.name });
  check(got.name === cache.name, "caches.get finds it", got);
  const r = await ai.models.generateContent({
    model: MODEL,
    contents: "What does the fox do?",
    config: { cachedContent: cache.name },
  });
  check(r.text === "ok", "generateContent with the cache", r.text);
  await ai.caches.delete({ name: cache.name });
  const gone = await raised(() => ai.caches.get({ name: cache.name }));
  check(gone instanceof ApiError && gone.status === 403, "a deleted cache is gone (Google's 403)", describe(gone));
});

await step("files.delete", async () => {
  await ai.files.delete({ name: file.name });
  const gone = await raised(() => ai.files.get({ name: file.name }));
  check(gone instanceof ApiError && gone.status === 403, "a deleted file is gone (Google's 403)", describe(gone));
});

await step("chats", async () => {
  const chat = ai.chats.create({ model: MODEL, config: { systemInstruction: "Be brief." } });
  const first = await chat.sendMessage({ message: "Hello, I am Ann." });
  check(first.text === "ok", "the chat's first turn", first.text);
  const second = await chat.sendMessage({ message: "What is my name?" });
  check(second.text === "ok", "the chat's second turn", second.text);
  let streamed = "";
  for await (const chunk of await chat.sendMessageStream({ message: "And again, streamed." })) {
    streamed += chunk.text ?? "";
  }
  check(streamed === "Hello!", "the chat's third turn, streamed", streamed);
});

await step("function calling", async () => {
  const tools = [{
    functionDeclarations: [{
      name: "get_weather",
      description: "Current weather in a city",
      parametersJsonSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    }],
  }];
  const contents = [{ role: "user", parts: [{ text: "Weather in Paris?" }] }];
  const r = await ai.models.generateContent({ model: MODEL, contents, config: { tools } });
  const call = r.functionCalls?.[0];
  check(call?.name === "get_weather" && call?.args?.city === "Paris", "the model calls the function", r.functionCalls);
  contents.push(r.candidates[0].content);
  contents.push({ role: "user", parts: [{ functionResponse: { name: call.name, response: { temp: 21 } } }] });
  const answer = await ai.models.generateContent({ model: MODEL, contents, config: { tools } });
  check(answer.text === "ok", "the function's result goes back and the model answers", answer.text);
});

await step("errors", async () => {
  const e = await raised(() => ai.models.generateContent({ model: "no-such-model", contents: "hi" }));
  check(e instanceof ApiError && e.status === 404 && /no-such-model is not found/.test(e.message),
    "an unknown model raises Google's 404", describe(e));
  const bad = new GoogleGenAI({ apiKey: "not-the-token", httpOptions: { baseUrl: BASE_URL } });
  const denied = await raised(() => bad.models.generateContent({ model: MODEL, contents: "hi" }));
  check(denied instanceof ApiError && (denied.status === 401 || denied.status === 400 || denied.status === 403),
    "a wrong token raises the SDK's ApiError", describe(denied));
});

done();
