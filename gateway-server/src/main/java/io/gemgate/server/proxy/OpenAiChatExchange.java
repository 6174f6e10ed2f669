package io.gemgate.server.proxy;

import io.gemgate.core.json.SseEventSplitter;
import io.gemgate.core.json.Usage;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.core.openai.ChatResponseTranslator;
import io.gemgate.core.openai.ChatStreamTranslator;
import io.gemgate.core.openai.OpenAiError;
import io.gemgate.core.openai.OpenAiErrors;
import io.gemgate.core.openai.TranslatedChatRequest;
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
 * {@code POST /v1/chat/completions}: the OpenAI request, already translated, goes upstream as
 * {@code generateContent} or {@code streamGenerateContent?alt=sse}; the answer comes back translated. Streamed: each
 * Gemini event becomes one {@code chat.completion.chunk}, flushed at once, and {@code data: [DONE]} ends the stream.
 * Not streamed: the answer is read whole and translated.
 *
 * <p>The stream mode (a live setting, read once per request) decides the upstream call; the client always gets the
 * shape it asked for. {@code auto}: as the client asked. {@code always}: a streamed call, whose events are collected
 * into one answer for a client that asked for a whole one (nothing reaches that client before the end, so an error
 * event or a broken stream is still tried again on the next key). {@code never}: a whole call, answered to a
 * streaming client as one chunk (role, content, tool calls and finish reason), the usage chunk when asked for, then
 * {@code [DONE]}; keep-alive comments go out while it is awaited.
 *
 * <p>An answer that is empty before anything reached the client (no candidate, no text, no call) is tried again on
 * the next key, like a 5xx. While a streamed answer is awaited, {@code : keep-alive} comments go out every
 * 10 s (configurable); they carry no content, so failover stays possible after them, and an error after
 * them is sent as an SSE error event since the 200 head is out.
 */
public final class OpenAiChatExchange extends Exchange {
    /** One streamed Gemini event is never this large; past it the stream is treated as broken. */
    private static final int MAX_EVENT_BYTES = 32 * 1024 * 1024;

    private final TranslatedChatRequest request;
    private final String path;
    /** Call {@code streamGenerateContent} (else {@code generateContent}), whatever the client asked for. */
    private final boolean streamUpstream;
    private ChatStreamTranslator stream;
    /** A streamed answer collected for a client that asked for a whole one. */
    private ChatResponseTranslator.Collector collector;
    private SseEventSplitter splitter;
    private CompositeByteBuf collected;
    private boolean headWritten;
    private ScheduledFuture<?> keepAlive;

    public OpenAiChatExchange(GatewayContext gw, ClientConnection client, HttpVersion version,
                              TranslatedChatRequest request, StreamMode mode, String path, boolean keepAlive) {
        super(gw, client, version, Unpooled.wrappedBuffer(request.body()), request.model(),
                io.gemgate.core.metrics.GatewayEvents.OPENAI_CHAT, RequestLine.post(path), keepAlive);
        this.request = request;
        this.path = path;
        this.streamUpstream = switch (mode) {
            case AUTO -> request.stream();
            case ALWAYS -> true;
            case NEVER -> false;
        };
    }

    @Override
    public void start() {
        streamed(request.stream());
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
        ChatStreamTranslator.writeKeepAlive(b);
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
                request.upstreamPath("v1beta", streamUpstream), h);
    }

    @Override
    protected void onHead(io.gemgate.server.upstream.UpstreamHead head) {
        closeAttemptState();
        if (status >= 300 || !streamUpstream) {
            phase = Phase.BODY; // read whole: an unclassified error, or a whole answer
            collected = client.alloc().compositeBuffer(64);
            return;
        }
        splitter = new SseEventSplitter(client.alloc(), MAX_EVENT_BYTES);
        if (request.stream()) {
            stream = new ChatStreamTranslator(request, gw.openAi().signatures(), gw.openAi().clock());
        } else {
            phase = Phase.BODY; // streamed upstream, answered whole at the end
            collector = new ChatResponseTranslator.Collector();
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
        ByteBuf out = client.alloc().buffer(256 + data.readableBytes());
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
        ByteBuf out = client.alloc().buffer(512);
        stream.finish(out);
        Usage u = stream.usage();
        OpenAiError midStream = stream.upstreamError();
        if (midStream != null) {
            // The upstream sent an error event after content: the client got it translated; it is the key's failure.
            status = midStream.status();
            reasoningTokens(u.thoughtsTokens());
            finish(new Verdict(VerdictKind.SERVER_ERROR, -1, "error event mid-stream"), u.promptTokens(),
                    u.outputTokens(), new DefaultLastHttpContent(out));
            return;
        }
        status = 200;
        reasoningTokens(u.thoughtsTokens());
        finish(Verdict.SUCCESS, u.promptTokens(), u.outputTokens(), new DefaultLastHttpContent(out));
    }

    /** The end of a streamed answer collected for a client that asked for a whole one. */
    private void onCollectedStream() {
        ChatResponseTranslator.Collector c = collector;
        closeAttemptState();
        if (c.sawError()) {
            retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "error event"));
            return;
        }
        answerWhole(gw.openAi().responses().translate(request, c));
    }

    /** The stream broke before its end: retried when nothing showed yet, else ended with an error event. */
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
            ChatResponseTranslator.Completion c;
            try {
                c = gw.openAi().responses().translate(request, body);
            } catch (UpstreamFormatException e) {
                retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "unreadable answer"));
                return;
            }
            answerWhole(c);
        } finally {
            body.release();
        }
    }

    /** Answers with a whole {@code chat.completion}, or tries the next key when the answer is empty. */
    private void answerWhole(ChatResponseTranslator.Completion c) {
        if (c.error() != null) {
            sendError(c.error());
            return;
        }
        if (c.empty()) {
            retryOnNextKey(new Verdict(VerdictKind.EMPTY_ANSWER, -1, "empty answer"));
            return;
        }
        status = 200;
        wrote(c.json().length);
        FullHttpResponse r = new DefaultFullHttpResponse(clientVersion, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(c.json()));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, c.json().length);
        connectionHeader(r);
        reasoningTokens(c.usage().thoughtsTokens());
        finish(Verdict.SUCCESS, c.usage().promptTokens(), c.usage().outputTokens(), r);
    }

    /**
     * A whole answer for a client that asked for a stream (stream mode {@code never}): translated as one event, then
     * ended as a stream is, so an empty answer or an error is still tried again on the next key.
     */
    private void answerAsStream(ByteBuf body) {
        stream = new ChatStreamTranslator(request, gw.openAi().signatures(), gw.openAi().clock());
        try {
            onEvent(body);
        } catch (UpstreamFormatException e) {
            retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "unreadable answer"));
            return;
        }
        onStreamEnd();
    }

    /** The 200 head of a streamed answer, once: SSE, not cached, not buffered by proxies in between. */
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

    /** An error in OpenAI's shape: as the answer, or as an SSE error event when the stream's head is out. */
    private void sendError(OpenAiError e) {
        cancelKeepAlive();
        status = e.status();
        if (headWritten) {
            ByteBuf b = client.alloc().buffer(256);
            e.writeSseFrame(b);
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
        ByteBuf b = client.alloc().buffer(256);
        if (stream != null) {
            stream.error(why, b);
        } else {
            OpenAiErrors.serverError(502, why).writeSseFrame(b);
        }
        closeAfter = true;
        finish(null, 0, 0, new DefaultLastHttpContent(b));
    }

    @Override
    protected void discardAnswer() {
        closeAttemptState();
    }

    /** Drops what one attempt built (its translator and splitter) before the next attempt or the end. */
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

    /** For the access log: the route the client called. */
    String path() {
        return path;
    }
}
