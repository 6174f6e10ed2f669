package io.gemgate.server.proxy;

import io.gemgate.core.anthropic.AnthropicError;
import io.gemgate.core.anthropic.MessagesResponseTranslator;
import io.gemgate.core.anthropic.MessagesStreamTranslator;
import io.gemgate.core.anthropic.TranslatedMessagesRequest;
import io.gemgate.core.json.SseEventSplitter;
import io.gemgate.core.json.Usage;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.core.openai.UpstreamFormatException;
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
 * {@code POST /v1/messages} and {@code POST /v1/messages/count_tokens} (also under {@code /anthropic}): the Messages
 * API request, already translated, goes upstream as {@code streamGenerateContent?alt=sse} (a streaming client),
 * {@code generateContent} or {@code countTokens}; the answer comes back in Anthropic's shape. Streamed: each Gemini
 * event becomes Anthropic's events ({@link MessagesStreamTranslator}), flushed at once; before the first of them,
 * {@code : keep-alive} comments go out at the OpenAI routes' interval. Whole: read and translated
 * ({@link MessagesResponseTranslator}).
 *
 * <p>An answer that is empty, an error event or a broken stream before anything reached the client is tried again on
 * the next key, as on the chat route. Errors are Anthropic's ({@link AnthropicError}); after the stream's head, an
 * {@code error} event, then the end of the stream.
 */
public final class AnthropicExchange extends Exchange {
    /** One streamed Gemini event is never this large; past it the stream is treated as broken. */
    private static final int MAX_EVENT_BYTES = 32 * 1024 * 1024;

    private final TranslatedMessagesRequest request;
    private MessagesStreamTranslator stream;
    private SseEventSplitter splitter;
    private CompositeByteBuf collected;
    private boolean headWritten;
    private ScheduledFuture<?> keepAlive;

    /**
     * @param route the metrics route label
     * @param path  the path the client called, for the access log
     */
    public AnthropicExchange(GatewayContext gw, ClientConnection client, HttpVersion version,
                             TranslatedMessagesRequest request, String route, String path, boolean keepAlive) {
        super(gw, client, version, Unpooled.wrappedBuffer(request.body()), request.model(), route,
                RequestLine.post(path), keepAlive);
        this.request = request;
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
        MessagesStreamTranslator.writeKeepAlive(b);
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
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, request.upstreamPath(), h);
    }

    @Override
    protected void onHead(io.gemgate.server.upstream.UpstreamHead head) {
        closeAttemptState();
        if (status >= 300 || !request.stream()) {
            phase = Phase.BODY; // read whole: an unclassified error, or a whole answer
            collected = client.alloc().compositeBuffer(64);
            return;
        }
        splitter = new SseEventSplitter(client.alloc(), MAX_EVENT_BYTES);
        stream = new MessagesStreamTranslator(request, gw.anthropic().signatures());
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
        ByteBuf out = client.alloc().buffer(256 + data.readableBytes());
        boolean wrote;
        try {
            wrote = stream.onEvent(data, out);
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
        if (wrote) {
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
        if (!stream.sawContent() && (!stream.hasAnswer() || stream.upstreamError() != null)) {
            AnthropicError upstreamError = stream.upstreamError();
            closeAttemptState();
            if (upstreamError != null) {
                retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "error event: " + upstreamError.type()));
            } else {
                retryOnNextKey(new Verdict(VerdictKind.EMPTY_ANSWER, -1, "empty answer"));
            }
            return;
        }
        cancelKeepAlive();
        writeStreamHead();
        ByteBuf out = client.alloc().buffer(512);
        stream.finish(out);
        Usage u = stream.usage();
        AnthropicError midStream = stream.upstreamError();
        if (midStream != null) {
            // The upstream sent an error event after content: the client got it translated; it is the key's failure.
            status = midStream.status();
            finish(new Verdict(VerdictKind.SERVER_ERROR, -1, "error event mid-stream"), u.promptTokens(),
                    u.outputTokens(), new DefaultLastHttpContent(out));
            return;
        }
        status = 200;
        finish(Verdict.SUCCESS, u.promptTokens(), u.outputTokens(), new DefaultLastHttpContent(out));
    }

    /** The stream broke before its end: retried when nothing showed yet, else ended with an error event. */
    private void onStreamBroken(String why) {
        if (stream != null && !stream.sawContent()) {
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
                sendError(AnthropicError.fromGemini(status, body));
                return;
            }
            if (request.count()) {
                byte[] json;
                try {
                    json = MessagesResponseTranslator.countTokens(body);
                } catch (UpstreamFormatException e) {
                    retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "unreadable answer"));
                    return;
                }
                answer(json, 0, 0);
                return;
            }
            MessagesResponseTranslator.Message m;
            try {
                m = gw.anthropic().responses().translate(request, body);
            } catch (UpstreamFormatException e) {
                retryOnNextKey(new Verdict(VerdictKind.SERVER_ERROR, -1, "unreadable answer"));
                return;
            }
            if (m.error() != null) {
                sendError(m.error());
                return;
            }
            if (m.empty()) {
                retryOnNextKey(new Verdict(VerdictKind.EMPTY_ANSWER, -1, "empty answer"));
                return;
            }
            answer(m.json(), m.usage().promptTokens(), m.usage().outputTokens());
        } finally {
            body.release();
        }
    }

    private void answer(byte[] json, long promptTokens, long outputTokens) {
        status = 200;
        wrote(json.length);
        FullHttpResponse r = new DefaultFullHttpResponse(clientVersion, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(json));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
        connectionHeader(r);
        finish(Verdict.SUCCESS, promptTokens, outputTokens, r);
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
            sendError(AnthropicError.fromGemini(status, error.content()));
        } finally {
            error.release();
        }
    }

    @Override
    protected void respondError(int code, String message, long retryAfterSeconds) {
        gatewayError(message);
        sendError(AnthropicResponses.gatewayError(code, message, retryAfterSeconds));
    }

    /** An error in Anthropic's shape: as the answer, or as an {@code error} event when the stream's head is out. */
    private void sendError(AnthropicError e) {
        cancelKeepAlive();
        status = e.status();
        if (headWritten) {
            ByteBuf b = client.alloc().buffer(256);
            e.writeEvent(b);
            closeAfter = true;
            finish(null, 0, 0, new DefaultLastHttpContent(b));
            return;
        }
        FullHttpResponse r = AnthropicResponses.error(client.alloc(), clientVersion, e);
        connectionHeader(r);
        phase = Phase.STREAMING;
        finish(null, 0, 0, r);
    }

    @Override
    protected void abortStream(String why) {
        cancelKeepAlive();
        if (!headWritten) {
            sendError(AnthropicError.of(502, why, -1));
            return;
        }
        status = 502;
        ByteBuf b = client.alloc().buffer(256);
        AnthropicError e = AnthropicError.of(502, why, -1);
        if (stream != null) {
            stream.error(e, b);
        } else {
            e.writeEvent(b);
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
    }

    @Override
    protected void cleanup() {
        cancelKeepAlive();
        closeAttemptState();
        super.cleanup();
    }
}
