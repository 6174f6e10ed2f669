// The tool the Vercel AI SDK scripts declare (vercel-ai.test.mjs, vercel-ai-providers.test.mjs): get_weather(city),
// answered { temp: 21 }; onCall hears the city the model asked for. The fake upstream (NodeScripts.upstream,
// VercelAiSdkTest's script) calls it with {city: "Paris"}.
import { tool } from "ai";
import { z } from "zod";

export function weatherTools(onCall) {
  return {
    get_weather: tool({
      description: "Current weather in a city",
      inputSchema: z.object({ city: z.string() }),
      execute: async ({ city }) => {
        onCall(city);
        return { temp: 21 };
      },
    }),
  };
}
