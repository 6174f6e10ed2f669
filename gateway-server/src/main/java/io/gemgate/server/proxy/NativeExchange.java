package io.gemgate.server.proxy;

import io.gemgate.core.json.NativeBodyRewriter;
import io.gemgate.core.json.UsageScanner;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.route.NativePath;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.settings.Thinking;
import io.gemgate.server.ClientHandler;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.Responses;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * A native Gemini call passed through: the client's request goes upstream as it came (its credentials replaced by
 * the pool's key), and the answer comes back as it arrives, same buffers, flushed per read, with only hop-by-hop
 * headers changed.
 *
 * <p>The one exception is the body of {@code generateContent} and {@code streamGenerateContent} while the live
 * settings ask for a system instruction or a default thinking level: then {@link NativeBodyRewriter} splices them in
 * (no copy of the client's bytes). Otherwise the body is not even read.
 */
public final class NativeExchange extends Exchange {
    private static final AsciiString UPLOAD_URL = AsciiString.cached("x-goog-upload-url");
    private static final AsciiString UPLOAD_CONTROL_URL = AsciiString.cached("x-goog-upload-control-url");
    /** Request headers never forwarded: hop-by-hop (RFC 9110 7.6.1), credentials, and what the gateway sets. */
    private static final HeaderNameSet DROP_REQUEST = new HeaderNameSet(
            HttpHeaderNames.CONNECTION, "keep-alive", "proxy-connection", HttpHeaderNames.PROXY_AUTHORIZATION,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
            HttpHeaderNames.HOST, HttpHeaderNames.AUTHORIZATION, "x-goog-api-key", HttpHeaderNames.CONTENT_LENGTH,
            HttpHeaderNames.EXPECT, HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderNames.COOKIE);
    /** Response headers never relayed as they are: hop-by-hop; framing is the gateway's own. */
    private static final HeaderNameSet DROP_RESPONSE = new HeaderNameSet(
            HttpHeaderNames.CONNECTION, "keep-alive", "proxy-connection", HttpHeaderNames.PROXY_AUTHENTICATE,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
            "alt-svc");
    /**
     * Headers the codecs already checked (the client's request, the upstream's response), copied without checking
     * every name and value again; what the gateway adds itself is constant or was checked when loaded.
     */
    private static final DefaultHttpHeadersFactory TRUSTED_HEADERS =
            DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    private final HttpMethod method;
    private final String upstreamUri;
    private final HttpHeaders forwardHeaders;
    private final String clientHost;
    private final UsageScanner usage = new UsageScanner();
    private boolean sse;
    private final EventCounter newlines = new EventCounter();

    /** Counts SSE event ends (a blank line: two line feeds with only CRs between) across chunks. */
    private static final class EventCounter implements io.netty.util.ByteProcessor {
        int run;
        int events;

        @Override
        public boolean process(byte value) {
            if (value == '\n') {
                if (++run == 2) {
                    events++;
                }
            } else if (value != '\r') {
                run = 0;
            }
            return true;
        }
    }

    public NativeExchange(GatewayContext gw, ClientHandler client, ChannelHandlerContext ctx, HttpRequest request,
                          ByteBuf body, String path, String queryWithoutKey, boolean keepAlive) {
        super(gw, client, ctx, request.protocolVersion(), withDefaults(gw.settings(), path, body, ctx.alloc()),
                NativePath.model(path),
                io.gemgate.core.metrics.GatewayEvents.NATIVE, request.method() + " " + (queryWithoutKey.isEmpty() ? path : path + '?' + queryWithoutKey),
                keepAlive);
        this.method = request.method();
        this.upstreamUri = queryWithoutKey.isEmpty() ? path : path + '?' + queryWithoutKey;
        this.forwardHeaders = filter(request.headers(), DROP_REQUEST);
        this.clientHost = request.headers().get(HttpHeaderNames.HOST);
    }

    /**
     * The body with the gateway's system instruction and default thinking spliced in, for the generation methods
     * when a setting applies; else {@code body} itself, unread.
     *
     * @param body ownership passes; the result is owned by the caller
     */
    private static ByteBuf withDefaults(RuntimeSettings s, String path, ByteBuf body, ByteBufAllocator alloc) {
        if (s.systemInstruction().isEmpty() && s.defaultThinking() == Thinking.AUTO) {
            return body;
        }
        String method = NativePath.method(path);
        if (!method.equals("generateContent") && !method.equals("streamGenerateContent")) {
            return body;
        }
        NativeBodyRewriter r = NativeBodyRewriter.of(s.systemInstruction(), s.defaultThinking(),
                NativePath.model(path));
        return r == null ? body : r.rewrite(body, alloc);
    }

    /** A copy of {@code in} without the {@code drop} names and without those the Connection header names. */
    private static HttpHeaders filter(HttpHeaders in, HeaderNameSet drop) {
        HttpHeaders out = TRUSTED_HEADERS.newHeaders();
        String connection = in.get(HttpHeaderNames.CONNECTION);
        Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (drop.contains(name) || (connection != null && namedBy(connection, name))) {
                continue;
            }
            out.add(name, e.getValue());
        }
        return out;
    }

    /** True when the Connection header value lists {@code name} among its comma-separated options. */
    private static boolean namedBy(String connection, CharSequence name) {
        for (String option : connection.split(",")) {
            if (AsciiString.contentEqualsIgnoreCase(option.trim(), name)) {
                return true;
            }
        }
        return false;
    }

    @Override
    protected HttpRequest newUpstreamRequest() {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, upstreamUri, forwardHeaders.copy());
    }

    /** Writes the response head to the client: from here on, no failover. */
    @Override
    protected void onHead(HttpResponse head) {
        HttpResponse out = new DefaultHttpResponse(clientVersion, head.status(),
                filter(head.headers(), DROP_RESPONSE));
        HttpHeaders h = out.headers();
        rewriteUploadUrl(h, UPLOAD_URL);
        rewriteUploadUrl(h, UPLOAD_CONTROL_URL);
        if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
                closeAfter = true; // HTTP/1.0 has no chunked framing: the end of the body is the close
            } else {
                HttpUtil.setTransferEncodingChunked(out, true);
            }
        }
        connectionHeader(out);
        String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
        sse = type != null && type.startsWith("text/event-stream");
        markFirstByte();
        ctx.write(out);
    }

    /** Points an upload URL the upstream handed out at this gateway, so that plain clients come back here. */
    private void rewriteUploadUrl(HttpHeaders h, AsciiString name) {
        String url = h.get(name);
        if (url == null || clientHost == null) {
            return;
        }
        int scheme = url.indexOf("://");
        int pathStart = scheme < 0 ? -1 : url.indexOf('/', scheme + 3);
        if (scheme >= 0) {
            h.set(name, "http://" + clientHost + (pathStart < 0 ? "" : url.substring(pathStart)));
        }
    }

    @Override
    protected void onBody(HttpContent content) {
        ByteBuf b = content.content();
        if (status < 300) {
            usage.scan(b);
        }
        if (sse) {
            newlines.events = 0;
            b.forEachByte(newlines);
            if (newlines.events > 0) {
                gw.events().sseEvents(newlines.events);
            }
        }
        wrote(b.readableBytes());
        if (content instanceof LastHttpContent) {
            finish(status < 300 ? Verdict.SUCCESS : null, usage.promptTokens(), usage.outputTokens(), content);
        } else {
            ctx.write(content);
        }
    }

    @Override
    protected void onUpstreamError(FullHttpResponse error, Verdict verdict) {
        onHead(error);
        finish(null, 0, 0, new DefaultLastHttpContent(error.content()));
    }

    @Override
    protected void respondError(int code, String message, long retryAfterSeconds) {
        status = code;
        FullHttpResponse r = Responses.googleError(ctx.alloc(), clientVersion, code, message);
        if (retryAfterSeconds > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        connectionHeader(r);
        phase = Phase.STREAMING;
        finish(null, 0, 0, r);
    }

    /**
     * SSE: an error event in Google's shape (the SDKs check every event for a top-level {@code error}), then the
     * end; other bodies: the connection closes without the terminating chunk, so the client sees the body is cut.
     */
    @Override
    protected void abortStream(String why) {
        status = 502;
        closeAfter = true;
        if (sse) {
            String event = "data: " + Responses.googleErrorJson(502, why) + "\r\n\r\n";
            ByteBuf b = ctx.alloc().buffer(event.length());
            b.writeCharSequence(event, StandardCharsets.UTF_8);
            ctx.write(new DefaultHttpContent(b));
            finish(null, 0, 0, LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            ctx.flush();
            finish(null, 0, 0, null);
        }
    }
}
