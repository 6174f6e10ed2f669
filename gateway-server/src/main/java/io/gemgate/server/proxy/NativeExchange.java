package io.gemgate.server.proxy;

import io.gemgate.core.affinity.AffinityMap;
import io.gemgate.core.affinity.AffinityPaths;
import io.gemgate.core.affinity.AffinityStats;
import io.gemgate.core.affinity.AnswerFields;
import io.gemgate.core.affinity.ReferenceScanner;
import io.gemgate.core.json.NativeBodyRewriter;
import io.gemgate.core.keys.ApiKey;
import java.util.ArrayList;
import java.util.List;
import io.gemgate.core.json.UsageScanner;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.route.NativePath;
import io.gemgate.core.settings.RuntimeSettings;
import io.gemgate.core.settings.Thinking;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.Responses;
import io.gemgate.server.internal.HeaderNameSet;
import io.gemgate.server.upstream.RequestHead;
import io.gemgate.server.upstream.UpstreamHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;

/**
 * A native Gemini call passed through: the client's request goes upstream as it came (its credentials replaced by
 * the pool's key), and the answer comes back as it arrives, same buffers, flushed per read, with only hop-by-hop
 * fields changed.
 *
 * <p>Both heads are handled as bytes: the upstream request head is encoded once from the client's request
 * ({@link RequestHead}), and the answer's head is copied field by field from the upstream's bytes
 * ({@link UpstreamHead#writeField}) and written, with the body, straight to the socket through the connection's writer
 * ({@link ClientConnection#writeRaw}), framed by the upstream's Content-Length or chunked here. No header map is built on this path. Error answers that the
 * gateway classified (read whole) go out through the connection's HTTP encoder, like every answer the gateway makes.
 *
 * <p>The one exception to the untouched body is {@code generateContent} and {@code streamGenerateContent} while the
 * live settings ask for a system instruction or a default thinking level: then {@link NativeBodyRewriter} splices them
 * in (no copy of the client's bytes). Otherwise the body is not even read.
 */
public final class NativeExchange extends Exchange {
    private static final AsciiString UPLOAD_URL = AsciiString.cached("x-goog-upload-url");
    private static final AsciiString UPLOAD_CONTROL_URL = AsciiString.cached("x-goog-upload-control-url");
    private static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");
    private static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");
    private static final AsciiString CONNECTION = AsciiString.cached("connection");
    /** Request headers never forwarded: hop-by-hop (RFC 9110 7.6.1), credentials, and what the gateway sets. */
    private static final HeaderNameSet DROP_REQUEST = new HeaderNameSet(
            HttpHeaderNames.CONNECTION, "keep-alive", "proxy-connection", HttpHeaderNames.PROXY_AUTHORIZATION,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
            HttpHeaderNames.HOST, HttpHeaderNames.AUTHORIZATION, "x-goog-api-key", "x-api-key", "api-key",
            HttpHeaderNames.CONTENT_LENGTH,
            HttpHeaderNames.EXPECT, HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderNames.COOKIE);
    /** Response headers never relayed as they are: hop-by-hop; framing is the gateway's own. */
    private static final HeaderNameSet DROP_RESPONSE = new HeaderNameSet(
            HttpHeaderNames.CONNECTION, "keep-alive", "proxy-connection", HttpHeaderNames.PROXY_AUTHENTICATE,
            HttpHeaderNames.TE, HttpHeaderNames.TRAILER, HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE,
            "alt-svc", HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, HttpHeaderNames.ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS,
            HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, HttpHeaderNames.ACCESS_CONTROL_MAX_AGE);
    /** The two upload URL headers, rewritten to point at the gateway. */
    private static final HeaderNameSet UPLOAD_URLS = new HeaderNameSet(UPLOAD_URL, UPLOAD_CONTROL_URL);
    private static final byte[] HTTP_11 = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP_10 = "HTTP/1.0 ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHUNKED = "transfer-encoding: chunked\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE = "connection: close\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] KEEP_ALIVE = "connection: keep-alive\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] LAST_CHUNK = "0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    /**
     * Headers the codecs already checked (an upstream error answer's), copied without checking every name and value
     * again.
     */
    private static final DefaultHttpHeadersFactory TRUSTED_HEADERS =
            DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    private final RequestHead requestHead;
    private final HttpMethod method;
    private final String upstreamUri;
    private final String clientHost;
    private final UsageScanner usage = new UsageScanner();
    private boolean sse;
    /** The client's answer is chunked by the gateway (the upstream's had no length, the client speaks 1.1). */
    private boolean chunkOut;
    private final EventCounter newlines = new EventCounter();
    /** Native path without the query, and the query without {@code key}. */
    private final String path;
    private final String query;
    /** What a successful answer creates, changes or removes (README, key affinity). */
    private final AffinityPaths.Effect effect;
    /** The resource the path acts on ({@code files/abc}), or null. */
    private final String pathResource;
    /** The answer's bytes, kept for the calls whose answer names what they created (small and rare); else null. */
    private byte[] answer;
    private int answerLen;
    private static final int MAX_ANSWER = 256 * 1024;
    private static final long HOUR = 3_600_000L;

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

    /** @throws IllegalArgumentException when the request target cannot be sent upstream as it is */
    public NativeExchange(GatewayContext gw, ClientConnection client, HttpRequest request,
                          ByteBuf body, String path, String queryWithoutKey, boolean keepAlive) {
        super(gw, client, request.protocolVersion(), withDefaults(gw.settings(), path, body, client.alloc()),
                NativePath.model(path), io.gemgate.core.metrics.GatewayEvents.NATIVE, null, keepAlive);
        this.method = request.method();
        this.upstreamUri = queryWithoutKey.isEmpty() ? path : path + '?' + queryWithoutKey;
        this.requestHead = upstreamHead(request, upstreamUri);
        this.clientHost = request.headers().get(HttpHeaderNames.HOST);
        this.path = path;
        this.query = queryWithoutKey;
        this.effect = AffinityPaths.effect(method.name(), path);
        this.pathResource = AffinityPaths.resource(path);
    }

    // ------------------------------------------------------------------------------------------------- affinity

    /**
     * A request that acts on or references a file, cache, batch, store or upload session goes to the key that holds
     * it (README, key affinity; {@link AffinityMap}). Requests that reference nothing start at once; their body is
     * scanned only on the generation, counting, embedding, batch and cache-creation calls ({@link ReferenceScanner}).
     */
    @Override
    public void start() {
        AffinityMap map = gw.affinity();
        if (creates() && map.isFull()) {
            gw.affinityStats().failure(AffinityStats.Failure.FULL);
            respondError(503, "Gemgate cannot record which key holds what this call would create: its affinity map "
                    + "is full (" + map.maxEntries() + " live entries). Delete files, caches, batches or stores that "
                    + "are no longer needed, or wait for some to expire.", 60);
            return;
        }
        super.start();
    }

    @Override
    protected List<String> affinityReferences() {
        List<String> refs = null;
        if (pathResource != null) {
            refs = new ArrayList<>(2);
            refs.add(pathResource);
        }
        String uploadId = AffinityPaths.uploadId(query);
        if (uploadId != null) {
            refs = refs == null ? new ArrayList<>(2) : refs;
            refs.add(AffinityMap.UPLOAD + uploadId);
        }
        if (AffinityPaths.mayReference(method.name(), path)) {
            List<String> found = ReferenceScanner.scan(body());
            if (found != null) {
                refs = refs == null ? new ArrayList<>(found.size()) : refs;
                for (String n : found) {
                    if (!refs.contains(n)) {
                        refs.add(n);
                    }
                }
            }
        }
        return refs;
    }

    /** True when a successful answer records a new entry. */
    private boolean creates() {
        return effect == AffinityPaths.Effect.UPLOAD || effect == AffinityPaths.Effect.CREATE_CACHE
                || effect == AffinityPaths.Effect.CREATE_BATCH || effect == AffinityPaths.Effect.CREATE_STORE;
    }

    /** Records what a successful answer created, changed or removed (the key that served it holds it). */
    private void applyEffect(AnswerFields f) {
        AffinityMap map = gw.affinity();
        long now = gw.now();
        switch (effect) {
            case UPLOAD -> {
                if (f.name() != null && f.name().startsWith("files/")) {
                    recordEntry(f.name(), f.expiresMillis() > now ? f.expiresMillis()
                            : now + OwnerLookup.FILE_LIFE_MILLIS);
                    String uploadId = AffinityPaths.uploadId(query);
                    if (uploadId != null) {
                        map.remove(AffinityMap.UPLOAD + uploadId);
                    }
                }
            }
            case CREATE_CACHE -> {
                if (f.name() != null && f.name().startsWith("cachedContents/")) {
                    recordEntry(f.name(), f.expiresMillis() > now ? f.expiresMillis() : now + HOUR);
                }
            }
            case CREATE_BATCH -> {
                if (f.name() != null && f.name().startsWith("batches/")) {
                    recordEntry(f.name(), now + 7 * 24 * HOUR); // until seen finished (GET_BATCH), at most a week
                }
            }
            case CREATE_STORE -> {
                if (f.name() != null && f.name().startsWith("fileSearchStores/")) {
                    recordEntry(f.name(), now + 365 * 24 * HOUR); // stores live until deleted
                }
            }
            case PATCH_CACHE -> {
                if (f.expiresMillis() > 0) {
                    map.expires(pathResource, f.expiresMillis());
                }
            }
            case GET_BATCH -> {
                if (f.isFinished() && map.get(pathResource) != null) {
                    map.expires(pathResource, now + 48 * HOUR); // finished: a grace to read its results
                }
                for (String file : f.resultFiles()) {
                    recordEntry(file, now + OwnerLookup.FILE_LIFE_MILLIS);
                }
            }
            default -> {
            }
        }
    }

    private void recordEntry(String name, long expiresMillis) {
        if (gw.affinity().record(new AffinityMap.Entry(name, key.id(), key.project(), gw.now(), expiresMillis,
                userId()))) {
            gw.affinityStats().recorded();
        } else {
            gw.affinityStats().failure(AffinityStats.Failure.FULL);
        }
    }

    /** The upload session a resumable upload's start handed out: it stays with the key that started it. */
    private void recordUploadSession(UpstreamHead head) {
        String url = head.get(UPLOAD_URL);
        if (url == null) {
            return;
        }
        int q = url.indexOf('?');
        String id = q < 0 ? null : AffinityPaths.uploadId(url.substring(q + 1));
        if (id != null) {
            recordEntry(AffinityMap.UPLOAD + id, gw.now() + 48 * HOUR);
        }
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

    /** The client's fields without the dropped ones and those its Connection header names, encoded once. */
    private RequestHead upstreamHead(HttpRequest request, String uri) {
        HttpHeaders in = request.headers();
        AsciiString[] named = connectionOptions(in.get(HttpHeaderNames.CONNECTION));
        RequestHead.Builder b = RequestHead.builder(request.method(), uri);
        Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (DROP_REQUEST.contains(name) || (named != null && listedIn(named, name))) {
                continue;
            }
            b.field(name, e.getValue());
        }
        return b.build(gw.upstream().hostHeader(), declaredLength(request.method()));
    }

    /** A copy of {@code in} without the {@code drop} names and without those the Connection header names. */
    private static HttpHeaders filter(HttpHeaders in, HeaderNameSet drop) {
        HttpHeaders out = TRUSTED_HEADERS.newHeaders();
        AsciiString[] named = connectionOptions(in.get(HttpHeaderNames.CONNECTION));
        Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            CharSequence name = e.getKey();
            if (drop.contains(name) || (named != null && listedIn(named, name))) {
                continue;
            }
            out.add(name, e.getValue());
        }
        return out;
    }

    /** True when {@code name} is one of {@code named} ({@link #connectionOptions}), whatever its case. */
    private static boolean listedIn(AsciiString[] named, CharSequence name) {
        for (AsciiString n : named) {
            if (AsciiString.contentEqualsIgnoreCase(n, name)) {
                return true;
            }
        }
        return false;
    }

    @Override
    protected HttpRequest newUpstreamRequest() {
        throw new UnsupportedOperationException("the pass-through encodes its head itself");
    }

    @Override
    protected String logMethod() {
        return method.name();
    }

    @Override
    protected String logTarget() {
        return upstreamUri;
    }

    @Override
    protected RequestHead newRequestHead() {
        return requestHead;
    }

    /**
     * Writes the response head to the client, copied from the upstream's bytes: from here on, no failover. The
     * upstream's Content-Length is kept (the body passes unchanged); without one the answer is chunked here (HTTP/1.1)
     * or ends with the close (HTTP/1.0).
     */
    @Override
    protected void onHead(UpstreamHead head) {
        if (status < 300) {
            if (effect == AffinityPaths.Effect.UPLOAD) {
                recordUploadSession(head);
            }
            if (effect == AffinityPaths.Effect.DELETE) {
                gw.affinity().remove(pathResource);
            }
            if (effect != AffinityPaths.Effect.NONE && effect != AffinityPaths.Effect.DELETE) {
                answer = new byte[1024];
            }
        } else if (status == 404 && pathResource != null && pinned() != null) {
            gw.affinity().remove(pathResource); // the holder no longer has it
        }
        // A bodiless answer (to a HEAD, a 204 or a 304) keeps whatever Content-Length it declares.
        boolean length = head.isBodyless() || (!head.isChunked() && head.contentLength() >= 0);
        if (!length && !head.isBodyless()) {
            if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
                closeAfter = true; // HTTP/1.0 has no chunked framing: the end of the body is the close
            } else {
                chunkOut = true;
            }
        }
        closeAfter |= !client.keepAlive();
        AsciiString[] named = connectionOptions(head.get(CONNECTION));
        ByteBuf out = client.alloc().directBuffer(head.byteSize() + 64);
        out.writeBytes(clientVersion.equals(HttpVersion.HTTP_1_0) ? HTTP_10 : HTTP_11);
        head.writeStatus(out);
        out.writeShort(0x0d0a);
        int run = 0; // fields [run, i) are copied as they came, in one piece
        int n = head.size();
        for (int i = 0; i < n; i++) {
            boolean drop = head.nameIn(i, DROP_RESPONSE) || (!length && head.nameIs(i, CONTENT_LENGTH))
                    || (named != null && listedIn(head, i, named));
            String url = drop || clientHost == null || !head.nameIn(i, UPLOAD_URLS) ? null : gatewayUrl(head.value(i));
            if (!drop && url == null) {
                continue;
            }
            head.writeLines(run, i, out);
            run = i + 1;
            if (url != null) {
                out.writeCharSequence(head.nameIs(i, UPLOAD_URL) ? UPLOAD_URL : UPLOAD_CONTROL_URL,
                        StandardCharsets.ISO_8859_1);
                out.writeByte(':').writeByte(' ');
                out.writeCharSequence(url, StandardCharsets.ISO_8859_1);
                out.writeShort(0x0d0a);
            }
        }
        head.writeLines(run, n, out);
        if (chunkOut) {
            out.writeBytes(CHUNKED);
        }
        byte[] cors = client.corsFields();
        if (cors != null) {
            out.writeBytes(cors); // the gateway's CORS policy, not the upstream's (dropped above)
        }
        if (closeAfter) {
            out.writeBytes(CLOSE);
        } else if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
            out.writeBytes(KEEP_ALIVE);
        }
        out.writeShort(0x0d0a);
        sse = head.valueStartsWith(CONTENT_TYPE, "text/event-stream");
        streamed(sse);
        markFirstByte(headNanos()); // the head goes out as it came
        client.writeRaw(out);
    }

    /**
     * The field names a Connection header lists (RFC 9110 7.6.1), lower case, read once per message (the client's
     * request, the upstream's answer); null when it lists none (no header, or only {@code close} or
     * {@code keep-alive}, the usual values; both fields are dropped anyway).
     */
    static AsciiString[] connectionOptions(String connection) {
        if (connection == null || connection.equalsIgnoreCase("close") || connection.equalsIgnoreCase("keep-alive")) {
            return null;
        }
        List<AsciiString> names = new ArrayList<>(2);
        for (String option : connection.split(",")) {
            String o = option.trim().toLowerCase(java.util.Locale.ROOT);
            if (!o.isEmpty() && !o.equals("close")) {
                names.add(AsciiString.of(o));
            }
        }
        return names.isEmpty() ? null : names.toArray(new AsciiString[0]);
    }

    /** True when field {@code i} is one of {@code named} (hop-by-hop by declaration). */
    private static boolean listedIn(UpstreamHead head, int i, AsciiString[] named) {
        for (AsciiString n : named) {
            if (head.nameIs(i, n)) {
                return true;
            }
        }
        return false;
    }

    /** An upload URL the upstream handed out, pointed at this gateway so that plain clients come back here. */
    private String gatewayUrl(String url) {
        int scheme = url.indexOf("://");
        if (scheme < 0) {
            return null;
        }
        int pathStart = url.indexOf('/', scheme + 3);
        return "http://" + clientHost + (pathStart < 0 ? "" : url.substring(pathStart));
    }

    /** Points an upload URL header at this gateway (error answers, whose headers are a map). */
    private void rewriteUploadUrl(HttpHeaders h, AsciiString name) {
        String url = h.get(name);
        if (url == null || clientHost == null) {
            return;
        }
        String g = gatewayUrl(url);
        if (g != null) {
            h.set(name, g);
        }
    }

    @Override
    protected void onBody(HttpContent content) {
        ByteBuf b = content.content();
        if (status < 300) {
            usage.scan(b);
        }
        if (answer != null) {
            keepAnswer(b, content instanceof LastHttpContent);
        }
        if (sse) {
            newlines.events = 0;
            b.forEachByte(newlines);
            if (newlines.events > 0) {
                gw.events().sseEvents(newlines.events);
            }
        }
        wrote(b.readableBytes());
        boolean last = content instanceof LastHttpContent;
        if (chunkOut) {
            if (b.isReadable()) {
                writeChunkSize(client, b.readableBytes());
                client.writeRaw(b);
                ByteBuf crlf = client.alloc().directBuffer(2).writeShort(0x0d0a);
                client.writeRaw(crlf);
            } else {
                b.release();
            }
            if (last) {
                reasoningTokens(usage.thoughtsTokens());
                finish(status < 300 ? Verdict.SUCCESS : null, usage.promptTokens(), usage.outputTokens(),
                        client.alloc().directBuffer(LAST_CHUNK.length).writeBytes(LAST_CHUNK));
            }
            return;
        }
        if (last) {
            reasoningTokens(usage.thoughtsTokens());
            finish(status < 300 ? Verdict.SUCCESS : null, usage.promptTokens(), usage.outputTokens(), b);
        } else {
            client.writeRaw(b);
        }
    }

    /** Copies the answer's bytes (up to {@value #MAX_ANSWER}); at its end, records what it created. */
    private void keepAnswer(ByteBuf b, boolean last) {
        int n = Math.min(b.readableBytes(), MAX_ANSWER - answerLen);
        if (n > 0) {
            if (answer.length < answerLen + n) {
                answer = java.util.Arrays.copyOf(answer, Math.min(MAX_ANSWER, Math.max(answerLen + n,
                        answer.length * 2)));
            }
            b.getBytes(b.readerIndex(), answer, answerLen, n);
            answerLen += n;
        }
        if (last) {
            AnswerFields f = AnswerFields.parse(answer, answerLen);
            answer = null;
            applyEffect(f);
        }
    }

    private static void writeChunkSize(ClientConnection client, int size) {
        ByteBuf line = client.alloc().directBuffer(10);
        ByteBufUtil.writeAscii(line, Integer.toHexString(size));
        line.writeShort(0x0d0a);
        client.writeRaw(line);
    }

    /**
     * An upstream error answer, read whole and classified: passed on through the HTTP encoder with its length and
     * the upstream's end-to-end fields.
     */
    @Override
    protected void onUpstreamError(FullHttpResponse error, Verdict verdict) {
        int code = error.status().code();
        if ((code == 403 || code == 404) && pathResource != null && pinned() != null) {
            gw.affinity().remove(pathResource); // the holder no longer has it (deleted or expired outside)
        }
        HttpHeaders h = filter(error.headers(), DROP_RESPONSE);
        h.remove(HttpHeaderNames.CONTENT_LENGTH);
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, error.content().readableBytes());
        rewriteUploadUrl(h, UPLOAD_URL);
        rewriteUploadUrl(h, UPLOAD_CONTROL_URL);
        FullHttpResponse out = new DefaultFullHttpResponse(clientVersion, error.status(), error.content(), h,
                io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        connectionHeader(out);
        wrote(error.content().readableBytes());
        finish(null, 0, 0, out);
    }

    @Override
    protected void respondError(int code, String message, long retryAfterSeconds) {
        status = code;
        gatewayError(message);
        FullHttpResponse r = Responses.googleError(client.alloc(), clientVersion, code, message);
        if (retryAfterSeconds > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        connectionHeader(r);
        phase = Phase.STREAMING;
        finish(null, 0, 0, r);
    }

    /**
     * SSE: an error event in Google's shape (the SDKs check every event for a top-level {@code error}), then the
     * end; other bodies: the connection closes without the end of the body, so the client sees it is cut.
     */
    @Override
    protected void abortStream(String why) {
        status = 502;
        closeAfter = true;
        if (sse) {
            String event = "data: " + Responses.googleErrorJson(502, why) + "\r\n\r\n";
            ByteBuf b = client.alloc().buffer(event.length());
            b.writeCharSequence(event, StandardCharsets.UTF_8);
            if (chunkOut) {
                writeChunkSize(client, b.readableBytes());
                client.writeRaw(b);
                ByteBuf end = client.alloc().directBuffer(2 + LAST_CHUNK.length).writeShort(0x0d0a).writeBytes(LAST_CHUNK);
                finish(null, 0, 0, end);
            } else {
                finish(null, 0, 0, b); // length-framed or close-delimited: the close ends it
            }
        } else {
            client.flush();
            finish(null, 0, 0, null);
        }
    }
}
