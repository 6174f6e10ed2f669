package io.gemgate.server;

import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.openai.EmbeddingsRequest;
import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.OpenAiErrors;
import io.gemgate.core.openai.OpenAiRequestException;
import io.gemgate.core.openai.TranslatedChatRequest;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.server.proxy.Exchange;
import io.gemgate.server.proxy.OpenAiChatExchange;
import io.gemgate.server.proxy.OpenAiJsonExchange;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.util.List;
import java.util.regex.Pattern;

/** The OpenAI routes: chat completions, models, one model, embeddings. */
final class OpenAiRoutes {
    private static final byte[] NO_BODY = new byte[0];
    /** Model ids that may go into an upstream path. */
    private static final Pattern MODEL_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

    private OpenAiRoutes() {
    }

    /**
     * The exchange for {@code route}; the request body's ownership passes (it is released here once read).
     *
     * @throws OpenAiRequestException for a bad request (400), before any upstream call
     */
    static Exchange exchange(Route route, GatewayContext gw, ClientHandler client, ChannelHandlerContext ctx,
                             HttpRequest req, ByteBuf body, String path, boolean keepAlive) {
        OpenAiSupport ai = gw.openAi();
        String log = req.method() + " " + path;
        try {
            return switch (route) {
                case OPENAI_MODELS -> new OpenAiJsonExchange(gw, client, ctx, req.protocolVersion(),
                        KeyPool.ANY_MODEL, GatewayEvents.OPENAI_MODELS, log, keepAlive, OpenAiJsonExchange.single(HttpMethod.GET,
                        "/v1beta/models?pageSize=1000", NO_BODY, page -> ai.models().list(page)));
                case OPENAI_CHAT -> chat(gw, client, ctx, req, body, path, keepAlive);
                case OPENAI_MODEL -> model(gw, client, ctx, req, path, keepAlive, log);
                case OPENAI_EMBEDDINGS -> embeddings(gw, client, ctx, req, body, keepAlive, log);
                default -> throw new IllegalArgumentException("not an OpenAI route: " + route);
            };
        } finally {
            body.release();
        }
    }

    /** Chat completions with the live settings, read once: default thinking, system instruction, stream mode. */
    private static Exchange chat(GatewayContext gw, ClientHandler client, ChannelHandlerContext ctx, HttpRequest req,
                                 ByteBuf body, String path, boolean keepAlive) {
        RuntimeSettings s = gw.settings();
        TranslatedChatRequest t = gw.openAi().requests().translate(body, s.defaultThinking(), s.systemInstruction());
        return new OpenAiChatExchange(gw, client, ctx, req.protocolVersion(), t, s.streamMode(), path, keepAlive);
    }

    private static Exchange model(GatewayContext gw, ClientHandler client, ChannelHandlerContext ctx,
                                  HttpRequest req, String path, boolean keepAlive, String log) {
        String id = path.substring(path.indexOf("/models/") + "/models/".length());
        if (!MODEL_ID.matcher(id).matches()) {
            throw new OpenAiRequestException("model", "invalid model id '" + id + "'");
        }
        OpenAiSupport ai = gw.openAi();
        String upstreamId = id.endsWith("-search") ? id.substring(0, id.length() - "-search".length()) : id;
        return new OpenAiJsonExchange(gw, client, ctx, req.protocolVersion(), KeyPool.ANY_MODEL,
                GatewayEvents.OPENAI_MODELS, log, keepAlive,
                new OpenAiJsonExchange.Plan() {
                    @Override
                    public int calls() {
                        return 1;
                    }

                    @Override
                    public HttpMethod method() {
                        return HttpMethod.GET;
                    }

                    @Override
                    public String uri(int i) {
                        return "/v1beta/models/" + upstreamId;
                    }

                    @Override
                    public byte[] body(int i) {
                        return NO_BODY;
                    }

                    @Override
                    public byte[] answer(List<byte[]> bodies) {
                        return upstreamId.equals(id) ? ai.models().model(bodies.get(0)) : ai.models().model(id);
                    }

                    @Override
                    public OpenAiError error(int status, byte[] body) {
                        return status == 404 ? OpenAiErrors.modelNotFound(id) : OpenAiErrors.fromGemini(status, body);
                    }
                });
    }

    private static Exchange embeddings(GatewayContext gw, ClientHandler client, ChannelHandlerContext ctx,
                                       HttpRequest req, ByteBuf body, boolean keepAlive, String log) {
        OpenAiSupport ai = gw.openAi();
        EmbeddingsRequest er = ai.embeddings().translate(body);
        return new OpenAiJsonExchange(gw, client, ctx, req.protocolVersion(), er.model(),
                GatewayEvents.OPENAI_EMBEDDINGS, log, keepAlive,
                new OpenAiJsonExchange.Plan() {
                    @Override
                    public int calls() {
                        return er.batchCount();
                    }

                    @Override
                    public HttpMethod method() {
                        return HttpMethod.POST;
                    }

                    @Override
                    public String uri(int i) {
                        return er.upstreamPath("v1beta");
                    }

                    @Override
                    public byte[] body(int i) {
                        return er.batchBody(i);
                    }

                    @Override
                    public byte[] answer(List<byte[]> bodies) {
                        return ai.embeddings().translateResponse(er, bodies);
                    }
                });
    }
}
