package io.gemgate.server.proxy;

import io.gemgate.core.json.UsageScanner;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyAttempts;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.keys.Unavailable;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictClassifier;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.core.route.NativePath;
import io.gemgate.server.ClientHandler;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.Responses;
import io.gemgate.server.upstream.PoolExhaustedException;
import io.gemgate.server.upstream.UpstreamClient;
import io.gemgate.server.upstream.UpstreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One native request and all its attempts. Picks a key, sends the request upstream with that key, reads the answer's
 * head and either relays the answer as it comes (same buffers, flushed per read, upstream reads paused while the
 * client cannot take more) or, on a verdict that calls for another key, tries the next one. Failover happens only
 * before the first byte reaches the client.
 *
 * <p>Not thread-safe: every method runs on the client connection's event loop, which is also the loop of the
 * upstream connection (T1).
 *
 * <p>Buffer ownership: the request {@code body} is owned here and released exactly once in {@link #cleanup()}; each
 * attempt writes a retained duplicate. An error body being classified is owned here until relayed or released.
 */
public final class ProxyExchange implements UpstreamListener {
    private static final Logger log = LogManager.getLogger(ProxyExchange.class);
    private static final Logger access = LogManager.getLogger("gemgate.access");
    /** Error bodies are read up to this size to classify them; larger ones are relayed unclassified. */
    private static final int MAX_ERROR_BODY = 256 * 1024;
    private static final AsciiString GOOG_API_KEY = AsciiString.cached("x-goog-api-key");
    private static final AsciiString UPLOAD_URL = AsciiString.cached("x-goog-upload-url");
    private static final AsciiString UPLOAD_CONTROL_URL = AsciiString.cached("x-goog-upload-control-url");
    /** Request headers never forwarded: hop-by-hop (RFC 9110 7.6.1), credentials, and what the gateway sets. */
    private static final Set<AsciiString> DROP_REQUEST = Set.of(
            (AsciiString) HttpHeaderNames.CONNECTION, AsciiString.cached("keep-alive"),
            AsciiString.cached("proxy-connection"), (AsciiString) HttpHeaderNames.PROXY_AUTHORIZATION,
            (AsciiString) HttpHeaderNames.TE, (AsciiString) HttpHeaderNames.TRAILER,
            (AsciiString) HttpHeaderNames.TRANSFER_ENCODING, (AsciiString) HttpHeaderNames.UPGRADE,
            (AsciiString) HttpHeaderNames.HOST, (AsciiString) HttpHeaderNames.AUTHORIZATION, GOOG_API_KEY,
            (AsciiString) HttpHeaderNames.CONTENT_LENGTH, (AsciiString) HttpHeaderNames.EXPECT,
            (AsciiString) HttpHeaderNames.ACCEPT_ENCODING, (AsciiString) HttpHeaderNames.COOKIE);
    /** Response headers never relayed as they are: hop-by-hop; framing is the gateway's own. */
    private static final Set<AsciiString> DROP_RESPONSE = Set.of(
            (AsciiString) HttpHeaderNames.CONNECTION, AsciiString.cached("keep-alive"),
            AsciiString.cached("proxy-connection"), (AsciiString) HttpHeaderNames.PROXY_AUTHENTICATE,
            (AsciiString) HttpHeaderNames.TE, (AsciiString) HttpHeaderNames.TRAILER,
            (AsciiString) HttpHeaderNames.TRANSFER_ENCODING, (AsciiString) HttpHeaderNames.UPGRADE,
            AsciiString.cached("alt-svc"));

    private enum Phase { ACQUIRING, WAITING_HEAD, READING_ERROR, STREAMING, DONE }

    private final GatewayContext gw;
    private final ClientHandler client;
    private final ChannelHandlerContext ctx;
    private final HttpVersion clientVersion;
    private final HttpMethod method;
    private final String path;
    private final String upstreamUri;
    private final String logUri;
    private final HttpHeaders forwardHeaders;
    private final String clientHost;
    private final ByteBuf body;
    private final ModelRef model;
    private final KeyAttempts attempts;
    private final UsageScanner usage = new UsageScanner();
    private final long startNanos = System.nanoTime();

    private Phase phase = Phase.ACQUIRING;
    private ApiKey key;
    private Channel upstream;
    private boolean staleRetried;
    private long attemptStartNanos;
    private long headLatencyMillis;
    private ScheduledFuture<?> headTimeout;
    private HttpResponse upstreamHead;
    private CompositeByteBuf errorBody;
    /** The last upstream error answer that led to a failover, kept to relay it if no key is left. */
    private FullHttpResponse lastError;
    private Verdict lastVerdict;
    private int status;
    private boolean sse;
    private boolean closeAfter;
    private boolean paused;

    public ProxyExchange(GatewayContext gw, ClientHandler client, ChannelHandlerContext ctx, HttpRequest request,
                         ByteBuf body, String path, String queryWithoutKey, boolean keepAlive) {
        this.gw = gw;
        this.client = client;
        this.ctx = ctx;
        this.clientVersion = request.protocolVersion();
        this.method = request.method();
        this.path = path;
        this.upstreamUri = queryWithoutKey.isEmpty() ? path : path + '?' + queryWithoutKey;
        this.logUri = upstreamUri;
        this.forwardHeaders = forwardHeaders(request.headers());
        this.clientHost = request.headers().get(HttpHeaderNames.HOST);
        this.body = body;
        KeyPool pool = gw.pool();
        this.model = pool.model(NativePath.model(path));
        this.attempts = new KeyAttempts(pool.maxAttempts());
        this.closeAfter = !keepAlive;
    }

    private static HttpHeaders forwardHeaders(HttpHeaders in) {
        HttpHeaders out = new io.netty.handler.codec.http.DefaultHttpHeaders();
        String connection = in.get(HttpHeaderNames.CONNECTION);
        Iterator<Map.Entry<CharSequence, CharSequence>> it = in.iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            AsciiString name = AsciiString.of(e.getKey()).toLowerCase();
            if (DROP_REQUEST.contains(name) || (connection != null && connection.toLowerCase().contains(name))) {
                continue;
            }
            out.add(name, e.getValue());
        }
        return out;
    }

    /** Starts the first attempt. */
    public void start() {
        nextAttempt();
    }

    // ------------------------------------------------------------------------------------------------ attempts

    private void nextAttempt() {
        key = gw.pool().acquire(model, attempts);
        if (key == null) {
            noKeyLeft();
            return;
        }
        send();
    }

    /** Sends the request with the current key on a pooled connection. */
    private void send() {
        phase = Phase.ACQUIRING;
        attemptStartNanos = System.nanoTime();
        Future<Channel> f = gw.upstream().acquire(ctx.channel().eventLoop());
        if (f.isDone()) {
            onConnection(f);
        } else {
            f.addListener(this::onConnection);
        }
    }

    private void onConnection(Future<? super Channel> f) {
        if (phase != Phase.ACQUIRING) { // the client left meanwhile
            if (f.isSuccess()) {
                gw.upstream().release((Channel) f.getNow(), true);
            }
            return;
        }
        if (!f.isSuccess()) {
            if (f.cause() instanceof PoolExhaustedException) {
                respondError(503, f.cause().getMessage(), -1); // not the key's fault
                return;
            }
            log.debug("upstream connect failed with key {}: {}", key.masked(), f.cause().toString());
            attemptFailed(Verdict.CONNECT_FAILURE, null);
            return;
        }
        Channel ch = (Channel) f.getNow();
        upstream = ch;
        UpstreamClient.attach(ch, this);
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, upstreamUri,
                forwardHeaders.copy());
        HttpHeaders h = req.headers();
        h.set(HttpHeaderNames.HOST, gw.upstream().hostHeader());
        h.set(GOOG_API_KEY, key.secret());
        h.set(HttpHeaderNames.ACCEPT_ENCODING, HttpHeaderValues.IDENTITY);
        if (body.isReadable() || method.equals(HttpMethod.POST) || method.equals(HttpMethod.PUT)
                || method.equals(HttpMethod.PATCH)) {
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        }
        phase = Phase.WAITING_HEAD;
        ch.write(req, ch.voidPromise());
        ch.writeAndFlush(new DefaultLastHttpContent(body.retainedDuplicate())).addListener(w -> {
            if (!w.isSuccess()) {
                ch.close(); // onInactive decides: stale connection or connect failure
            }
        });
        headTimeout = ctx.executor().schedule(this::onHeadTimeout,
                gw.config().upstream().responseTimeout().toMillis(), TimeUnit.MILLISECONDS);
        ch.read();
    }

    private void onHeadTimeout() {
        if (phase != Phase.WAITING_HEAD) {
            return;
        }
        log.debug("no response head within the timeout with key {}", key.masked());
        dropUpstream();
        attemptFailed(Verdict.TIMEOUT, null);
    }

    /** Detaches from and closes the current upstream connection (its answer is abandoned). */
    private void dropUpstream() {
        Channel ch = upstream;
        upstream = null;
        if (ch != null) {
            UpstreamClient.detach(ch);
            ch.close();
        }
        cancelHeadTimeout();
    }

    private void cancelHeadTimeout() {
        if (headTimeout != null) {
            headTimeout.cancel(false);
            headTimeout = null;
        }
    }

    /** Gives the current upstream connection back (or closes it when its answer was not read to the end). */
    private void releaseUpstream() {
        Channel ch = upstream;
        upstream = null;
        if (ch != null) {
            boolean complete = UpstreamClient.detach(ch);
            boolean keepAlive = upstreamHead == null || HttpUtil.isKeepAlive(upstreamHead);
            gw.upstream().release(ch, complete && keepAlive);
        }
    }

    /**
     * Records a failed attempt and moves on: the next key when the verdict calls for it, else the answer goes to
     * the client as it is.
     *
     * @param error the upstream's error answer, or null when there was none (connect failure, timeout); owned here
     */
    private void attemptFailed(Verdict verdict, FullHttpResponse error) {
        gw.pool().record(key, model, verdict, headLatencyMillis);
        lastVerdict = verdict;
        if (lastError != null) {
            lastError.release();
        }
        lastError = error;
        if (verdict.kind().retryOnNextKey()) {
            log.debug("key {} for {}: {} ({}); trying the next key", key.masked(), model.name(),
                    verdict.kind().label(), verdict.reason());
            nextAttempt();
            return;
        }
        // Not retried (a client error): relay it.
        lastError = null;
        relayWhole(error);
    }

    /**
     * No key left for this request: answer from what the attempts learned, without calling the upstream again.
     * An upstream 5xx is relayed as it came; connect failures and timeouts become 502 and 504. When the attempts ran
     * out while other keys could still serve, the upstream's own 429 is relayed; when no key can serve, the pool
     * says why (429 all cooling, 503 all exhausted, invalid or disabled). Google's "API key not valid" is never
     * relayed: it would blame the client's credentials for ours.
     */
    private void noKeyLeft() {
        VerdictKind last = lastVerdict == null ? null : lastVerdict.kind();
        if (last == VerdictKind.SERVER_ERROR && lastError != null) {
            relayLastError();
        } else if (last == VerdictKind.CONNECT_FAILURE) {
            respondError(502, "upstream unreachable after " + attempts.count() + " attempt(s)", -1);
        } else if (last == VerdictKind.TIMEOUT) {
            respondError(504, "upstream did not answer in time after " + attempts.count() + " attempt(s)", -1);
        } else if (last == VerdictKind.INVALID_KEY && gw.pool().hasAvailableKey(model)) {
            respondError(503, "the upstream refused the last key tried (" + lastVerdict.reason() + ") and "
                    + attempts.count() + " attempt(s) are spent", 1);
        } else if (lastError != null && last != VerdictKind.INVALID_KEY && gw.pool().hasAvailableKey(model)) {
            relayLastError();
        } else {
            Unavailable u = gw.pool().unavailable(model);
            respondError(u.status(), u.message(), u.retryAfterSeconds());
        }
    }

    private void relayLastError() {
        FullHttpResponse e = lastError;
        lastError = null;
        if (lastVerdict.retryDelayMillis() > 0) {
            e.headers().set(HttpHeaderNames.RETRY_AFTER, (lastVerdict.retryDelayMillis() + 999) / 1000);
        }
        relayWhole(e);
    }

    // ----------------------------------------------------------------------------------------- upstream events

    @Override
    public void onResponseHead(HttpResponse head) {
        if (phase != Phase.WAITING_HEAD) {
            return;
        }
        cancelHeadTimeout();
        headLatencyMillis = (System.nanoTime() - attemptStartNanos) / 1_000_000;
        upstreamHead = head;
        status = head.status().code();
        if (isClassified(status)) {
            phase = Phase.READING_ERROR;
            errorBody = ctx.alloc().compositeBuffer(64);
            return;
        }
        if (status >= 300) {
            gw.pool().record(key, model, Verdict.CLIENT_ERROR, headLatencyMillis);
        }
        commit(head);
    }

    /** Statuses whose body decides between failover and relaying. */
    private static boolean isClassified(int status) {
        return status == 400 || status == 401 || status == 403 || status == 408 || status == 429 || status >= 500;
    }

    @Override
    public void onContent(HttpContent content) {
        switch (phase) {
            case STREAMING -> relay(content);
            case READING_ERROR -> {
                errorBody.addComponent(true, content.content());
                if (content instanceof LastHttpContent) {
                    classifyError();
                } else if (errorBody.readableBytes() > MAX_ERROR_BODY) {
                    // Too large to be one of Google's error bodies: relay it unclassified.
                    gw.pool().record(key, model, Verdict.CLIENT_ERROR, headLatencyMillis);
                    CompositeByteBuf b = errorBody;
                    errorBody = null;
                    commit(upstreamHead);
                    ctx.write(new DefaultHttpContent(b));
                }
            }
            default -> ReferenceCountUtil.release(content);
        }
    }

    private void classifyError() {
        CompositeByteBuf b = errorBody;
        errorBody = null;
        Verdict v = VerdictClassifier.classify(status, b);
        FullHttpResponse error = new io.netty.handler.codec.http.DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                upstreamHead.status(), b, upstreamHead.headers().copy(),
                io.netty.handler.codec.http.EmptyHttpHeaders.INSTANCE);
        releaseUpstream();
        upstreamHead = null;
        attemptFailed(v, error);
    }

    @Override
    public void onReadComplete() {
        Channel ch = upstream;
        if (ch == null) {
            return;
        }
        if (phase == Phase.STREAMING) {
            ctx.flush();
            if (ctx.channel().isWritable()) {
                ch.read();
            } else {
                paused = true; // P2: resume in onClientWritable
            }
        } else if (phase == Phase.WAITING_HEAD || phase == Phase.READING_ERROR) {
            ch.read();
        }
    }

    /** The client can take more again: resume reading the upstream. */
    public void onClientWritable() {
        if (paused && phase == Phase.STREAMING && upstream != null) {
            paused = false;
            upstream.read();
        }
    }

    @Override
    public void onInactive() {
        switch (phase) {
            case WAITING_HEAD -> {
                Channel ch = upstream;
                upstream = null;
                cancelHeadTimeout();
                if (ch != null && UpstreamClient.wasReused(ch) && !staleRetried) {
                    // F6: a pooled keep-alive connection closed under us; one retry with the same key, fresh socket.
                    staleRetried = true;
                    send();
                    return;
                }
                attemptFailed(Verdict.CONNECT_FAILURE, null);
            }
            case READING_ERROR -> {
                upstream = null;
                classifyError();
            }
            case STREAMING -> {
                upstream = null;
                abortStream("upstream connection closed before the answer ended");
            }
            default -> upstream = null;
        }
    }

    @Override
    public void onStreamIdle() {
        if (phase == Phase.STREAMING && !paused) {
            dropUpstream();
            abortStream("upstream sent nothing for " + gw.config().upstream().streamIdleTimeout().toSeconds() + "s");
        }
    }

    // ------------------------------------------------------------------------------------------ client side

    /** Writes the response head to the client: from here on, no failover. */
    private void commit(HttpResponse head) {
        phase = Phase.STREAMING;
        HttpResponse out = new DefaultHttpResponse(clientVersion, head.status());
        HttpHeaders h = out.headers();
        String connection = head.headers().get(HttpHeaderNames.CONNECTION);
        Iterator<Map.Entry<CharSequence, CharSequence>> it = head.headers().iteratorCharSequence();
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            AsciiString name = AsciiString.of(e.getKey()).toLowerCase();
            if (DROP_RESPONSE.contains(name) || (connection != null && connection.toLowerCase().contains(name))) {
                continue;
            }
            if ((name.contentEquals(UPLOAD_URL) || name.contentEquals(UPLOAD_CONTROL_URL)) && clientHost != null) {
                h.add(name, rewriteOrigin(e.getValue().toString()));
                continue;
            }
            h.add(name, e.getValue());
        }
        if (!h.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
                closeAfter = true; // HTTP/1.0 has no chunked framing: the end of the body is the close
            } else {
                HttpUtil.setTransferEncodingChunked(out, true);
            }
        }
        closeAfter |= !client.keepAlive();
        if (closeAfter) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
            h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        String type = head.headers().get(HttpHeaderNames.CONTENT_TYPE);
        sse = type != null && type.startsWith("text/event-stream");
        ctx.write(out);
    }

    /** Points an upload URL the upstream handed out at this gateway, so that plain clients come back here. */
    private String rewriteOrigin(String url) {
        int scheme = url.indexOf("://");
        if (scheme < 0) {
            return url;
        }
        int pathStart = url.indexOf('/', scheme + 3);
        return "http://" + clientHost + (pathStart < 0 ? "" : url.substring(pathStart));
    }

    private void relay(HttpContent content) {
        if (status < 300) {
            usage.scan(content.content());
        }
        if (content instanceof LastHttpContent) {
            // Counted before the last byte leaves: whatever the client sees is already in the counters.
            finish(status < 300 ? Verdict.SUCCESS : null, content);
        } else {
            ctx.write(content);
        }
    }

    /** Relays a whole upstream answer (an error that is not retried, or the last error when no key is left). */
    private void relayWhole(FullHttpResponse response) {
        status = response.status().code();
        upstreamHead = response;
        commit(response);
        finish(null, new DefaultLastHttpContent(response.content()));
    }

    /** An upstream failure after the answer started: end the stream so the client knows, then close. */
    private void abortStream(String why) {
        log.info("stream with key {} for {} aborted: {}", key.masked(), model.name(), why);
        gw.pool().record(key, model, new Verdict(VerdictKind.SERVER_ERROR, -1, "stream cut"), headLatencyMillis);
        status = 502;
        if (sse) {
            String event = "data: " + Responses.googleErrorJson(502, why) + "\r\n\r\n";
            ByteBuf b = ctx.alloc().buffer(event.length());
            b.writeCharSequence(event, StandardCharsets.UTF_8);
            ctx.write(new DefaultHttpContent(b));
            ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
        } else {
            ctx.flush();
        }
        // Closing without a terminating chunk tells a non-SSE client that the body is incomplete.
        closeAfter = true;
        finishRaw();
    }

    /** A response the gateway makes itself (no key left, pool exhausted). */
    private void respondError(int code, String message, long retryAfterSeconds) {
        status = code;
        FullHttpResponse r = Responses.googleError(ctx.alloc(), clientVersion, code, message);
        if (retryAfterSeconds > 0) {
            r.headers().set(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        closeAfter |= !client.keepAlive();
        if (closeAfter) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        phase = Phase.STREAMING;
        finish(null, r);
    }

    /**
     * Ends the exchange: records the outcome, writes the last content (when given; ownership passes), gives the
     * upstream connection back and hands the client connection back to its handler.
     */
    private void finish(Verdict verdict, HttpContent last) {
        if (verdict != null) {
            gw.pool().record(key, model, verdict, headLatencyMillis);
            if (usage.sawUsage()) {
                gw.pool().recordUsage(key, model, usage.promptTokens(), usage.outputTokens());
            }
        }
        if (last != null) {
            ctx.writeAndFlush(last);
        }
        releaseUpstream();
        finishRaw();
    }

    private void finishRaw() {
        phase = Phase.DONE;
        cleanup();
        logAccess();
        client.exchangeDone(closeAfter);
    }

    /** The client went away: abandon the upstream call (never pool it mid-answer) and free everything. */
    public void onClientGone() {
        if (phase == Phase.DONE) {
            return;
        }
        phase = Phase.DONE;
        dropUpstream();
        status = 499;
        cleanup();
        logAccess();
        client.exchangeDone(true);
    }

    private void cleanup() {
        cancelHeadTimeout();
        if (body.refCnt() > 0) {
            body.release();
        }
        if (errorBody != null) {
            errorBody.release();
            errorBody = null;
        }
        if (lastError != null) {
            lastError.release();
            lastError = null;
        }
    }

    private void logAccess() {
        if (!access.isInfoEnabled()) {
            return;
        }
        long ms = (System.nanoTime() - startNanos) / 1_000_000;
        access.info("{} {} {} model={} key={} attempts={} {}ms", method, logUri, status, model.name(),
                key == null ? "-" : key.masked(), attempts.count(), ms);
    }
}
