package io.gemgate.server;

import io.gemgate.core.affinity.AffinityMap;
import io.gemgate.core.affinity.AnswerFields;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.openai.OpenAiFiles;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.gemgate.core.anthropic.AnthropicModelList;
import io.gemgate.core.anthropic.AnthropicRequestException;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.openai.EmbeddingsRequest;
import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.OpenAiErrors;
import io.gemgate.core.openai.OpenAiRequestException;
import io.gemgate.core.openai.TranslatedChatRequest;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.server.proxy.ClientConnection;
import io.gemgate.server.proxy.Exchange;
import io.gemgate.server.proxy.OpenAiChatExchange;
import io.gemgate.server.proxy.OpenAiJsonExchange;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.util.List;
import java.util.regex.Pattern;

/** The OpenAI routes: chat completions, models, one model, embeddings, files. */
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
    static Exchange exchange(Route route, GatewayContext gw, ClientConnection client,
                             HttpRequest req, ByteBuf body, String path, boolean keepAlive) {
        OpenAiSupport ai = gw.openAi();
        Exchange.RequestLine log = new Exchange.RequestLine(req.method().name(), path);
        try {
            return switch (route) {
                case OPENAI_MODELS -> new OpenAiJsonExchange(gw, client, req.protocolVersion(),
                        KeyPool.ANY_MODEL, GatewayEvents.OPENAI_MODELS, log, keepAlive, OpenAiJsonExchange.single(HttpMethod.GET,
                        "/v1beta/models?pageSize=1000", NO_BODY, page -> ai.models().list(page)));
                case OPENAI_CHAT -> chat(gw, client, req, body, path, keepAlive);
                case OPENAI_MODEL -> model(gw, client, req, path, keepAlive, log);
                case ANTHROPIC_MODELS -> new OpenAiJsonExchange(gw, client, req.protocolVersion(),
                        KeyPool.ANY_MODEL, GatewayEvents.OPENAI_MODELS, log, keepAlive, OpenAiJsonExchange.single(
                        HttpMethod.GET, "/v1beta/models?pageSize=1000", NO_BODY, AnthropicModelList::list));
                case ANTHROPIC_MODEL -> anthropicModel(gw, client, req, path, keepAlive, log);
                case OPENAI_EMBEDDINGS -> embeddings(gw, client, req, body, keepAlive, log);
                case OPENAI_FILES -> req.method().equals(HttpMethod.POST)
                        ? fileUpload(gw, client, req, body, keepAlive, log)
                        : fileList(gw, client, req, keepAlive, log);
                case OPENAI_FILE -> fileOne(gw, client, req, path, keepAlive, log);
                case OPENAI_RESPONSES -> responses(gw, client, req, body, path, keepAlive);
                case OPENAI_RESPONSE -> storedResponse(gw, client, req, path, keepAlive, log);
                case OPENAI_IMAGES -> images(gw, client, req, body, keepAlive, log);
                default -> throw new IllegalArgumentException("not an OpenAI route: " + route);
            };
        } finally {
            body.release();
        }
    }

    /** Chat completions with the live settings, read once: default thinking, system instruction, stream mode. */
    private static Exchange chat(GatewayContext gw, ClientConnection client, HttpRequest req,
                                 ByteBuf body, String path, boolean keepAlive) {
        RuntimeSettings s = gw.settings();
        TranslatedChatRequest t = gw.openAi().requests().translate(body, s.defaultThinking(), s.systemInstruction());
        return new OpenAiChatExchange(gw, client, req.protocolVersion(), t, s.streamMode(), path, keepAlive);
    }

    /**
     * {@code POST /v1/responses} with the live settings, read once; a {@code previous_response_id} is looked up here
     * for any owner, and checked against the caller's token when the exchange starts.
     */
    private static Exchange responses(GatewayContext gw, ClientConnection client,
                                      HttpRequest req, ByteBuf body, String path, boolean keepAlive) {
        RuntimeSettings s = gw.settings();
        io.gemgate.core.openai.TranslatedResponsesRequest t = gw.openAi().responseRequests().translate(body,
                s.defaultThinking(), s.systemInstruction(), null);
        return new io.gemgate.server.proxy.ResponsesExchange(gw, client, req.protocolVersion(), t,
                s.streamMode(), path, keepAlive);
    }

    /** {@code POST /v1/images/generations}: one Imagen {@code :predict}, or n Gemini {@code generateContent} calls. */
    private static Exchange images(GatewayContext gw, ClientConnection client, HttpRequest req, ByteBuf body,
                                   boolean keepAlive, Exchange.RequestLine log) {
        io.gemgate.core.openai.ImagesTranslator images = gw.openAi().images();
        io.gemgate.core.openai.ImagesTranslator.Request r = images.translate(body);
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), r.model(),
                GatewayEvents.OPENAI_IMAGES, log, keepAlive, new OpenAiJsonExchange.Plan() {
                    @Override
                    public int calls() {
                        return r.calls();
                    }

                    @Override
                    public HttpMethod method() {
                        return HttpMethod.POST;
                    }

                    @Override
                    public String uri(int i) {
                        return r.upstreamPath("v1beta");
                    }

                    @Override
                    public byte[] body(int i) {
                        return r.body();
                    }

                    @Override
                    public byte[] answer(List<byte[]> bodies) {
                        return images.answer(r, bodies);
                    }
                });
    }

    /** {@code GET} or {@code DELETE /v1/responses/{id}}: a response this gateway stored for the caller's token. */
    private static Exchange storedResponse(GatewayContext gw, ClientConnection client,
                                           HttpRequest req, String path, boolean keepAlive, Exchange.RequestLine log) {
        String id = path.substring(path.lastIndexOf('/') + 1);
        boolean delete = req.method().equals(HttpMethod.DELETE);
        io.gemgate.core.openai.ResponseStore store = gw.openAi().responseStore();
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), KeyPool.ANY_MODEL,
                GatewayEvents.OPENAI_RESPONSES, log, keepAlive, new OpenAiJsonExchange.SingleCall(req.method(), "",
                NO_BODY, null) {
                    private String owner = "";

                    @Override
                    public int calls() {
                        return 0;
                    }

                    @Override
                    public void caller(String userId) {
                        owner = userId;
                    }

                    @Override
                    public byte[] answer(List<byte[]> bodies) {
                        if (delete ? !store.delete(id, owner) : store.response(id, owner) == null) {
                            throw new OpenAiRequestException(404, null, "Response with id '"
                                    + (id.length() > 64 ? id.substring(0, 64) + "..." : id) + "' not found.",
                                    null);
                        }
                        if (delete) {
                            return io.gemgate.core.openai.ResponseStore.deleted(id);
                        }
                        return store.response(id, owner);
                    }
                });
    }

    private static Exchange model(GatewayContext gw, ClientConnection client,
                                  HttpRequest req, String path, boolean keepAlive, Exchange.RequestLine log) {
        String id = path.substring(path.indexOf("/models/") + "/models/".length());
        if (!MODEL_ID.matcher(id).matches()) {
            throw new OpenAiRequestException("model", "invalid model id '" + id + "'");
        }
        OpenAiSupport ai = gw.openAi();
        String upstreamId = id.endsWith("-search") ? id.substring(0, id.length() - "-search".length()) : id;
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), KeyPool.ANY_MODEL,
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

    /**
     * Anthropic's {@code GET /v1/models/{id}}: the Gemini model the name resolves to (a {@code claude-*} name through
     * the aliases or the defaults, as on {@code /v1/messages}), answered with the id as asked.
     */
    private static Exchange anthropicModel(GatewayContext gw, ClientConnection client,
                                           HttpRequest req, String path, boolean keepAlive, Exchange.RequestLine log) {
        String id = path.substring(path.indexOf("/models/") + "/models/".length());
        if (!MODEL_ID.matcher(id).matches()) {
            throw new OpenAiRequestException("model", "invalid model id '" + id + "'");
        }
        String upstreamId;
        try {
            upstreamId = gw.anthropic().requests().models().resolve(id).name();
        } catch (AnthropicRequestException e) {
            throw new OpenAiRequestException("model", e.getMessage());
        }
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), KeyPool.ANY_MODEL,
                GatewayEvents.OPENAI_MODELS, log, keepAlive, OpenAiJsonExchange.single(HttpMethod.GET,
                "/v1beta/models/" + upstreamId, NO_BODY, model -> AnthropicModelList.model(model, id)));
    }

    // ------------------------------------------------------------------------------------------------------ files

    /** {@code POST /v1/files}: one Gemini multipart upload through one key, recorded as held by it. */
    private static Exchange fileUpload(GatewayContext gw, ClientConnection client,
                                       HttpRequest req, ByteBuf body, boolean keepAlive, Exchange.RequestLine log) {
        OpenAiFiles.Upload u = OpenAiFiles.parseUpload(req.headers().get(HttpHeaderNames.CONTENT_TYPE),
                io.netty.buffer.ByteBufUtil.getBytes(body));
        byte[] id = new byte[12];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(id);
        String boundary = "gemgate-" + java.util.HexFormat.of().formatHex(id);
        byte[] gemini = OpenAiFiles.geminiBody(u, boundary);
        String meta = OpenAiFiles.meta(u);
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), KeyPool.ANY_MODEL,
                GatewayEvents.OTHER, log, keepAlive, new FilePlan(HttpMethod.POST,
                "/upload/v1beta/files?uploadType=multipart", gemini, null) {
                    private long created;
                    private long expires;
                    private String name;

                    @Override
                    public java.util.Map<String, String> headers(int i) {
                        return java.util.Map.of("x-goog-upload-protocol", "multipart",
                                "content-type", "multipart/related; boundary=" + boundary);
                    }

                    @Override
                    public void served(ApiKey key, List<byte[]> bodies) {
                        AnswerFields f = AnswerFields.parse(bodies.get(0), bodies.get(0).length);
                        if (f.name() == null || !f.name().startsWith("files/")) {
                            throw new IllegalStateException("no file in the upload's answer");
                        }
                        created = gw.now();
                        expires = f.expiresMillis() > created ? f.expiresMillis() : created + 48 * 3_600_000L;
                        name = f.name();
                        if (gw.affinity().record(new AffinityMap.Entry(name, key.id(), key.project(), created,
                                expires, owner, meta))) {
                            gw.affinityStats().recorded();
                        } else {
                            gw.affinityStats().failure(io.gemgate.core.affinity.AffinityStats.Failure.FULL);
                        }
                    }

                    @Override
                    public byte[] answer(List<byte[]> bodies) {
                        return OpenAiFiles.fileObject(name, meta, created, expires);
                    }
                });
    }

    /** {@code GET /v1/files}: the files uploaded through these routes with the caller's token, from the record. */
    private static Exchange fileList(GatewayContext gw, ClientConnection client,
                                     HttpRequest req, boolean keepAlive, Exchange.RequestLine log) {
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), KeyPool.ANY_MODEL,
                GatewayEvents.OTHER, log, keepAlive, new FilePlan(HttpMethod.GET, "", NO_BODY, null) {
                    @Override
                    public int calls() {
                        return 0;
                    }

                    @Override
                    public byte[] answer(List<byte[]> bodies) {
                        List<OpenAiFiles.Listed> out = new java.util.ArrayList<>();
                        for (AffinityMap.Entry e : gw.affinity().entries()) {
                            if (e.name().startsWith("files/") && !e.meta().isEmpty() && e.owner().equals(owner)) {
                                out.add(new OpenAiFiles.Listed(e.name(), e.meta(), e.createdMillis(),
                                        e.expiresMillis()));
                            }
                        }
                        return OpenAiFiles.list(out);
                    }
                });
    }

    /** {@code GET} or {@code DELETE /v1/files/{id}}: with the key that holds the file. */
    private static Exchange fileOne(GatewayContext gw, ClientConnection client,
                                    HttpRequest req, String path, boolean keepAlive, Exchange.RequestLine log) {
        String id = path.substring(path.lastIndexOf('/') + 1);
        String name = OpenAiFiles.geminiName(id);
        if (name == null) {
            throw new OpenAiRequestException("file_id", "Invalid file id '" + (id.length() > 64
                    ? id.substring(0, 64) + "..." : id) + "': expected an id from POST /v1/files (file-...).");
        }
        boolean delete = req.method().equals(HttpMethod.DELETE);
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), KeyPool.ANY_MODEL,
                GatewayEvents.OTHER, log, keepAlive, new FilePlan(req.method(), "/v1beta/" + name, NO_BODY,
                List.of(name)) {
                    @Override
                    public void served(ApiKey key, List<byte[]> bodies) {
                        if (delete) {
                            gw.affinity().remove(name);
                        }
                    }

                    @Override
                    public byte[] answer(List<byte[]> bodies) {
                        if (delete) {
                            return OpenAiFiles.deleted(name);
                        }
                        AffinityMap.Entry e = gw.affinity().get(name);
                        AnswerFields f = AnswerFields.parse(bodies.get(0), bodies.get(0).length);
                        return OpenAiFiles.fileObject(name, e == null ? "" : e.meta(),
                                e == null ? gw.now() : e.createdMillis(), f.expiresMillis());
                    }

                    @Override
                    public OpenAiError error(int status, byte[] body) {
                        return status == 403 || status == 404
                                ? OpenAiErrors.notFound("No such File object: " + id)
                                : OpenAiErrors.fromGemini(status, body);
                    }
                });
    }

    /** A one-call plan of the files routes; {@link #owner} is the caller's token id. */
    private abstract static class FilePlan extends OpenAiJsonExchange.SingleCall {
        String owner = "";

        FilePlan(HttpMethod method, String uri, byte[] body, List<String> references) {
            super(method, uri, body, references);
        }

        @Override
        public void caller(String userId) {
            owner = userId;
        }
    }

    private static Exchange embeddings(GatewayContext gw, ClientConnection client,
                                       HttpRequest req, ByteBuf body, boolean keepAlive, Exchange.RequestLine log) {
        OpenAiSupport ai = gw.openAi();
        EmbeddingsRequest er = ai.embeddings().translate(body);
        return new OpenAiJsonExchange(gw, client, req.protocolVersion(), er.model(),
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
