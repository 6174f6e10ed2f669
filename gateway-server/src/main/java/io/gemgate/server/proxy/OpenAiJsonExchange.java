package io.gemgate.server.proxy;

import io.gemgate.core.keys.Verdict;
import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.OpenAiErrors;
import io.gemgate.server.GatewayContext;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.ArrayList;
import java.util.List;

/**
 * An OpenAI route answered from one or more whole Gemini answers: the model list, one model, embeddings (in
 * batches of at most 100 inputs, one upstream call each, in order). Each call fails over on its own; the client
 * gets one JSON answer or one error in OpenAI's shape.
 */
public final class OpenAiJsonExchange extends Exchange {
    /** What to call upstream and how to answer from it. */
    public interface Plan {
        /** How many upstream calls, at least 1. */
        int calls();

        HttpMethod method();

        /** Path and query of call {@code i}. */
        String uri(int i);

        /** Body of call {@code i} (empty for GET). */
        byte[] body(int i);

        /** The OpenAI answer from every call's body, in order. */
        byte[] answer(List<byte[]> bodies);

        /** The OpenAI error for an upstream error answer; Gemini's errors translated by default. */
        default OpenAiError error(int status, byte[] body) {
            return OpenAiErrors.fromGemini(status, body);
        }

        /** Request headers of call {@code i} besides the JSON content type of a POST (e.g. an upload's). */
        default java.util.Map<String, String> headers(int i) {
            return java.util.Map.of();
        }

        /** The project-bound resources the calls act on (README, key affinity): they go to the key that holds them. */
        default List<String> references() {
            return null;
        }

        /** Every call succeeded with {@code key}; before {@link #answer} (what the key now holds is recorded here). */
        default void served(io.gemgate.core.keys.ApiKey key, List<byte[]> bodies) {
        }

        /** The caller's user token id ("" for the shared token), told before anything else. */
        default void caller(String userId) {
        }
    }

    private final Plan plan;
    private final List<byte[]> bodies = new ArrayList<>();
    private int call;
    private CompositeByteBuf collected;

    public OpenAiJsonExchange(GatewayContext gw, ClientConnection client, HttpVersion version,
                              String model, String route, RequestLine logLine, boolean keepAlive, Plan plan) {
        super(gw, client, version, Unpooled.wrappedBuffer(plan.body(0)), model, route, logLine, keepAlive);
        this.plan = plan;
    }

    @Override
    protected HttpRequest newUpstreamRequest() {
        DefaultHttpHeaders h = new DefaultHttpHeaders();
        if (plan.method().equals(HttpMethod.POST)) {
            h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        }
        plan.headers(call).forEach(h::set);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, plan.method(), plan.uri(call), h);
    }

    @Override
    protected void onHead(io.gemgate.server.upstream.UpstreamHead head) {
        phase = Phase.BODY;
        collected = client.alloc().compositeBuffer(64);
    }

    @Override
    protected void onBody(HttpContent content) {
        collected.addComponent(true, content.content());
        if (!(content instanceof LastHttpContent)) {
            return;
        }
        byte[] bytes = ByteBufUtil.getBytes(collected);
        collected.release();
        collected = null;
        if (status >= 300) {
            sendError(plan.error(status, bytes));
            return;
        }
        bodies.add(bytes);
        if (++call < plan.calls()) {
            nextCall(Unpooled.wrappedBuffer(plan.body(call)), 0, 0);
            return;
        }
        byte[] json;
        try {
            plan.served(key, bodies);
            json = plan.answer(bodies);
        } catch (io.gemgate.core.openai.OpenAiRequestException e) { // the answer says the request was refused
            sendError(OpenAiErrors.of(e));
            return;
        } catch (RuntimeException e) {
            sendError(OpenAiErrors.serverError(502, "upstream answer could not be read: " + e.getMessage()));
            return;
        }
        sendAnswer(json);
    }

    /**
     * A plan without upstream calls ({@link Plan#calls()} 0) is answered at once; its {@link Plan#answer} may refuse
     * with an {@link io.gemgate.core.openai.OpenAiRequestException} (answered in OpenAI's shape).
     */
    @Override
    public void start() {
        plan.caller(userId());
        if (plan.calls() == 0) {
            phase = Phase.BODY;
            byte[] json;
            try {
                json = plan.answer(List.of());
            } catch (io.gemgate.core.openai.OpenAiRequestException e) { // e.g. a 404 for what the caller does not hold
                sendError(OpenAiErrors.of(e));
                return;
            }
            sendAnswer(json);
            return;
        }
        super.start();
    }

    @Override
    protected List<String> affinityReferences() {
        return plan.references();
    }

    private void sendAnswer(byte[] json) {
        status = 200;
        wrote(json.length);
        FullHttpResponse r = new DefaultFullHttpResponse(clientVersion, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(json));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
        connectionHeader(r);
        finish(key == null ? null : Verdict.SUCCESS, 0, 0, r); // no key: answered without an upstream call
    }

    @Override
    protected void onUpstreamError(FullHttpResponse error, Verdict verdict) {
        try {
            sendError(plan.error(status, ByteBufUtil.getBytes(error.content())));
        } finally {
            error.release();
        }
    }

    @Override
    protected void respondError(int code, String message, long retryAfterSeconds) {
        gatewayError(message);
        sendError(OpenAiResponses.gatewayError(code, message, retryAfterSeconds));
    }

    private void sendError(OpenAiError e) {
        status = e.status();
        FullHttpResponse r = OpenAiResponses.error(client.alloc(), clientVersion, e);
        connectionHeader(r);
        phase = Phase.STREAMING;
        finish(null, 0, 0, r);
    }

    @Override
    protected void abortStream(String why) {
        sendError(OpenAiErrors.serverError(502, why));
    }

    @Override
    protected void discardAnswer() {
        if (collected != null) {
            collected.release();
            collected = null;
        }
    }

    @Override
    protected void cleanup() {
        if (collected != null) {
            collected.release();
            collected = null;
        }
        super.cleanup();
    }

    /** A plan with one upstream call and a translation of its body. */
    public static Plan single(HttpMethod method, String uri, byte[] body,
                              java.util.function.Function<byte[], byte[]> answer) {
        return new SingleCall(method, uri, body, null) {
            @Override
            public byte[] answer(List<byte[]> bodies) {
                return answer.apply(bodies.get(0));
            }
        };
    }

    /** A plan of one upstream call, given whole; subclasses say what the client gets. */
    public abstract static class SingleCall implements Plan {
        private final HttpMethod method;
        private final String uri;
        private final byte[] body;
        private final List<String> references;

        /** @param references the resources the call references (key affinity), or null */
        protected SingleCall(HttpMethod method, String uri, byte[] body, List<String> references) {
            this.method = method;
            this.uri = uri;
            this.body = body;
            this.references = references;
        }

        @Override
        public int calls() {
            return 1;
        }

        @Override
        public HttpMethod method() {
            return method;
        }

        @Override
        public String uri(int i) {
            return uri;
        }

        @Override
        public byte[] body(int i) {
            return body;
        }

        @Override
        public List<String> references() {
            return references;
        }
    }
}
