package io.gemgate.server.proxy;

import io.gemgate.core.json.SseEventSplitter;
import io.gemgate.core.json.Usage;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.core.metrics.GatewayEvents;
import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.OpenAiErrors;
import io.gemgate.core.openai.OpenAiRequestException;
import io.gemgate.core.openai.ResponseStore;
import io.gemgate.core.openai.ResponsesResponseTranslator;
import io.gemgate.core.openai.ResponsesResult;
import io.gemgate.core.openai.ResponsesStreamTranslator;
import io.gemgate.core.openai.TranslatedResponsesRequest;
import io.gemgate.core.openai.UpstreamFormatException;
import io.gemgate.core.settings.StreamMode;
import io.gemgate.server.GatewayContext;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code POST /v1/responses} (OpenAI's Responses API): the request, already translated, goes upstream as
 * {@code generateContent} or {@code streamGenerateContent?alt=sse}; the answer comes back as a response object, or
 * as the Responses API's streaming events ({@link ResponsesStreamTranslator}), flushed per upstream event. The same
 * rules as chat completions ({@link OpenAiChatExchange}): the stream mode setting decides the upstream call, the
 * client gets the shape it asked for; an empty answer or an error before anything reached the client goes to the
 * next key; keep-alive comments while a streamed answer is awaited.
 *
 * <p>A finished response is kept in the {@link ResponseStore} (unless {@code store: false}) for
 * {@code previous_response_id}, {@code item_reference} and {@code GET /v1/responses/{id}}, owned by the caller's
 * token. A {@code previous_response_id} or referenced item the caller does not hold is a 404 before any upstream
 * call.
 *
 * <p>Not thread-safe: one per request, on the client connection's event loop.
 */
public final class ResponsesExchange extends Exchange {
    /** One streamed Gemini event is never this large; past it the stream is treated as broken. */
    private static final int MAX_EVENT_BYTES = 32 * 1024 * 1024;

    private final TranslatedResponsesRequest request;
    private final boolean streamUpstream;
    private ResponsesStreamTranslator stream;
    private ResponsesResponseTranslator.Collector collector;
    private SseEventSplitter splitter;
    private CompositeByteBuf collected;
    private boolean headWritten;
    private ScheduledFuture<?> keepAlive;
    /** The caller's token id, read at the start (the user token is let go before the end). */
    private String owner = "";

    public ResponsesExchange(GatewayContext gw, ClientConnection client, HttpVersion version,
                             TranslatedResponsesRequest request, StreamMode mode, String path, boolean keepAlive) {
        super(gw, client, version, Unpooled.wrappedBuffer(request.chat().body()), request.model(),
                GatewayEvents.OPENAI_RESPONSES, RequestLine.post(path), keepAlive);
        this.request = request;
        this.streamUpstream = switch (mode) {
            case AUTO -> request.stream();
            case ALWAYS -> true;
            case NEVER -> false;
        };
    }

    @Override
    public void start() {
        streamed(request.stream());
        owner = userId();
        for (String id : request.referencedResponses()) {
            if (!gw.openAi().responseStore().holds(id, owner)) { // another token's, or gone since the translation
                phase = Phase.BODY;
                boolean previous = id.equals(request.previousResponseId());
                sendError(OpenAiErrors.of(new OpenAiRequestException(404, previous ? "previous_response_id" : "input",
                        (previous ? "Previous response with id '" : "Response with id '") + id + "' not found.",
                        previous ? "previous_response_not_found" : null)));
                return;
            }
        }
        if (request.stream()) {
            long every = gw.openAi().keepAliveInterval().toMillis();
            keepAlive = client.eventLoop().scheduleAtFixedRate(this::sendKeepAlive, every, every, TimeUnit.MILLISECONDS);
        }
        super.start();
    }

    private void sendKeepAlive() {
        if (phase == Phase.DONE || (stream != null && stream.sawContent())) {
            cancelKeepAlive();
            return;
        }
        writeStreamHead();
        ByteBuf b = client.alloc().buffer(16);
        ResponsesStreamTranslator.writeKeepAlive(b);
        client.writeAndFlush(new DefaultHttpContent(b));
    }

    private void cancelKeepAlive() {
        if (keepAlive != null) {
            keepAlive.cancel(false);
            keepAlive = null;
        }
    }

    @Override
    protected HttpRequest newUpstreamRequest() {
        DefaultHttpHeaders h = new DefaultHttpHeaders();
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON);
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                request.chat().upstreamPath("v1beta", streamUpstream), h);
    }

    @Override
    protected void onHead(io.gemgate.server.upstream.UpstreamHead head) {
        closeAttemptState();
        if (status >= 300 || !streamUpstream) {
            phase = Phase.BODY;
            collected = client.alloc().compositeBuffer(64);
            return;
        }
        splitter = new SseEventSplitter(client.alloc(), MAX_EVENT_BYTES);
        if (request.stream()) {
            stream = new ResponsesStreamTranslator(request, gw.openAi().signatures(), gw.openAi().clock());
        } else {
            phase = Phase.BODY;
            collector = new ResponsesResponseTranslator.Collector();
        }
    }

    @Override
    protected void onBody(HttpContent content) {
        if (collected != null) {
            collected.addComponent(true, content.content());
            if (content instanceof LastHttpContent) {
                onCollected();
            }
            return;
        }
        boolean last = content instanceof LastHttpContent;
        try {
            splitter.feed(content.content(), this::onEvent);
            if (last) {
                splitter.flushPending(this::onEvent);
            }
        } catch (UpstreamFormatException | IllegalStateException e) {
            content.release();
            dropUpstream();
            onStreamBroken("upstream sent an unreadable event: " + e.getMessage());
            return;
        }
        content.release();
        if (last) {
            onStreamEnd();
        }
    }

    private void onEvent(ByteBuf data) {
        if (collector != null) {
            collector.add(data);
            return;
        }
        ByteBuf out = client.alloc().buffer(512 + data.readableBytes());
        if (stream.onEvent(data, out)) {
            cancelKeepAlive();
            writeStreamHead();
            gw.events().sseEvents(1);
            wrote(out.readableBytes());
            client.write(new DefaultHttpContent(out));
        } else {
            out.release();
        }
    }

    private void onStreamEnd() {
        if (collector != null) {
            onCollectedStream();
            return;
        }
        if (!stream.sawContent()) {
            OpenAiError upstreamError = stream.upstreamError();
            closeAttemptState();
            if (upstreamError != null) {
                retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "error event: " + upstreamError.code()));
            } else {
                retryOnNextKey(new Verdict(VerdictKind.EMPTY_ANSWER, -1, "empty answer"));
            }
            return;
        }
        ByteBuf out = client.alloc().buffer(1024);
        stream.finish(out);
        Usage u = stream.usage();
        OpenAiError midStream = stream.upstreamError();
        if (midStream != null) {
            status = midStream.status();
            finish(new Verdict(VerdictKind.SERVER_ERROR, -1, "error event mid-stream"), u.promptTokens(),
                    u.outputTokens(), new DefaultLastHttpContent(out));
            return;
        }
        ResponsesResult result = stream.result();
        if (result != null) {
            gw.openAi().responseStore().put(request, result, owner);
        }
        status = 200;
        reasoningTokens(u.thoughtsTokens());
        finish(Verdict.SUCCESS, u.promptTokens(), u.outputTokens(), new DefaultLastHttpContent(out));
    }

    private void onCollectedStream() {
        ResponsesResponseTranslator.Collector c = collector;
        closeAttemptState();
        if (c.sawError()) {
            retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "error event"));
            return;
        }
        answerWhole(gw.openAi().responseAnswers().translate(request, c));
    }

    private void onStreamBroken(String why) {
        if (collector != null || (stream != null && !stream.sawContent())) {
            closeAttemptState();
            attemptFailed(new Verdict(VerdictKind.SERVER_ERROR, -1, "broken stream"), null);
            return;
        }
        abortStream(why);
    }

    private void onCollected() {
        CompositeByteBuf body = collected;
        collected = null;
        try {
            if (status >= 300) {
                sendError(OpenAiErrors.fromGemini(status, body));
                return;
            }
            if (request.stream()) {
                answerAsStream(body);
                return;
            }
            ResponsesResult r;
            try {
                r = gw.openAi().responseAnswers().translate(request, body);
            } catch (UpstreamFormatException e) {
                retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "unreadable answer"));
                return;
            }
            answerWhole(r);
        } finally {
            body.release();
        }
    }

    /** Answers with the whole response object, or tries the next key when the answer is empty. */
    private void answerWhole(ResponsesResult r) {
        if (r.error() != null) {
            sendError(r.error());
            return;
        }
        if (r.empty()) {
            retryOnNextKey(new Verdict(VerdictKind.EMPTY_ANSWER, -1, "empty answer"));
            return;
        }
        gw.openAi().responseStore().put(request, r, owner);
        status = 200;
        wrote(r.json().length);
        FullHttpResponse resp = new DefaultFullHttpResponse(clientVersion, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(r.json()));
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, r.json().length);
        connectionHeader(resp);
        reasoningTokens(r.usage().thoughtsTokens());
        finish(Verdict.SUCCESS, r.usage().promptTokens(), r.usage().outputTokens(), resp);
    }

    /** A whole upstream answer for a client that asked for a stream (stream mode {@code never}). */
    private void answerAsStream(ByteBuf body) {
        stream = new ResponsesStreamTranslator(request, gw.openAi().signatures(), gw.openAi().clock());
        try {
            onEvent(body);
        } catch (UpstreamFormatException e) {
            retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "unreadable answer"));
            return;
        }
        onStreamEnd();
    }

    /** The 200 head of a streamed answer, once. */
    private void writeStreamHead() {
        if (headWritten) {
            return;
        }
        headWritten = true;
        writeSseHead();
    }

    @Override
    protected void onUpstreamError(FullHttpResponse error, Verdict verdict) {
        try {
            sendError(OpenAiErrors.fromGemini(status, error.content()));
        } finally {
            error.release();
        }
    }

    @Override
    protected void respondError(int code, String message, long retryAfterSeconds) {
        gatewayError(message);
        sendError(OpenAiResponses.gatewayError(code, message, retryAfterSeconds));
    }

    /** An error in OpenAI's shape: as the answer, or as an {@code error} event when the stream's head is out. */
    private void sendError(OpenAiError e) {
        cancelKeepAlive();
        status = e.status();
        if (headWritten) {
            ByteBuf b = client.alloc().buffer(256);
            ResponsesStreamTranslator.writeError(e, b);
            finish(null, 0, 0, new DefaultLastHttpContent(b));
            return;
        }
        FullHttpResponse r = OpenAiResponses.error(client.alloc(), clientVersion, e);
        connectionHeader(r);
        phase = Phase.STREAMING;
        finish(null, 0, 0, r);
    }

    @Override
    protected void abortStream(String why) {
        cancelKeepAlive();
        if (!headWritten) {
            sendError(OpenAiErrors.serverError(502, why));
            return;
        }
        status = 502;
        ByteBuf b = client.alloc().buffer(512);
        OpenAiError e = OpenAiErrors.serverError(502, why);
        if (stream != null && stream.sawContent()) {
            stream.fail(e, b);
        } else {
            ResponsesStreamTranslator.writeError(e, b);
        }
        closeAfter = true;
        finish(null, 0, 0, new DefaultLastHttpContent(b));
    }

    @Override
    protected void discardAnswer() {
        closeAttemptState();
    }

    private void closeAttemptState() {
        if (splitter != null) {
            splitter.close();
            splitter = null;
        }
        if (collected != null) {
            collected.release();
            collected = null;
        }
        collector = null;
    }

    @Override
    protected void cleanup() {
        cancelKeepAlive();
        closeAttemptState();
        super.cleanup();
    }
}
