package io.gemgate.server.proxy;

import io.gemgate.core.egress.Exit;
import io.gemgate.core.egress.ExitVerdicts;
import io.gemgate.core.egress.Exits;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.core.keys.KeyAttempts;
import io.gemgate.core.keys.KeyPool;
import io.gemgate.core.keys.ModelRef;
import io.gemgate.core.keys.Unavailable;
import io.gemgate.core.keys.Verdict;
import io.gemgate.core.keys.VerdictClassifier;
import io.gemgate.core.keys.VerdictKind;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.upstream.ExitConnectException;
import io.gemgate.server.upstream.PoolExhaustedException;
import io.gemgate.server.upstream.RequestHead;
import io.gemgate.server.upstream.UpstreamClient;
import io.gemgate.server.upstream.UpstreamHead;
import io.gemgate.server.upstream.UpstreamListener;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One client request and all its upstream attempts: picks a key, sends the request with it on a pooled connection,
 * reads the answer's head and either hands the answer to the subclass (which relays or translates it) or, when the
 * verdict calls for another key and the client has seen nothing yet, tries the next key. When no key is left, it
 * answers from what the attempts learned, without calling the upstream again.
 *
 * <p>The client: everything the exchange writes goes through its {@link ClientConnection} (the connection's one
 * writer), which also decides keep-alive or close; the exchange ends with {@link ClientConnection#exchangeDone}. The
 * upstream response timeout is the exchange's own deadline on the connection's timer ({@link #onDeadline}).
 *
 * <p>Not thread-safe: every method runs on the client connection's event loop, which is also the loop of the
 * upstream connection (docs/architecture.md, threads).
 *
 * <p>Buffer ownership: the upstream request {@code body} is owned here and released exactly once in
 * {@link #cleanup()}; each attempt writes a retained duplicate (docs/architecture.md, buffers). An error body being
 * classified is owned here until it is handed to {@link #onUpstreamError} (which then owns it) or released.
 */
public abstract class Exchange implements UpstreamListener, ClientConnection.Deadline {
    private static final Logger log = LogManager.getLogger(Exchange.class);
    /** Error bodies are read up to this size to classify them; larger ones are handed on unclassified. */
    private static final int MAX_ERROR_BODY = 256 * 1024;
    /** Request bodies up to this size go upstream in the head's buffer (a copy cheaper than a second buffer). */
    private static final int INLINE_BODY_BYTES = 8 * 1024;

    /** Where the exchange is. {@code BODY}: reading a 2xx answer the subclass collects before writing anything. */
    protected enum Phase { ACQUIRING, WAITING_HEAD, READING_ERROR, BODY, STREAMING, DONE }

    protected final GatewayContext gw;
    /** The client connection: every write to the client goes through it. */
    protected final ClientConnection client;
    protected final HttpVersion clientVersion;
    protected final ModelRef model;
    protected KeyAttempts attempts;
    /** The keys this request may use (its model's groups, narrowed by its user token's); set by {@link #start}. */
    private io.gemgate.core.keys.KeyGroups groups;
    private final RequestLine logLine;
    private final String route;
    private long firstByteNanos = -1;
    private io.gemgate.core.tokens.UserToken user;
    private long usedPrompt;
    private long usedOutput;
    private ByteBuf body;
    private final long startNanos = System.nanoTime();
    /** Where the failover deadline counts from: the request's arrival, then the start of each further call. */
    private long callStartNanos = startNanos;

    protected Phase phase = Phase.ACQUIRING;
    protected ApiKey key;
    protected int status;
    protected boolean closeAfter;
    private Channel upstream;
    private boolean staleRetried;
    private long attemptStartNanos;
    /** When the current attempt's response head arrived ({@link System#nanoTime()}). */
    private long headNanos;
    private boolean sentOnce;
    private long headLatencyMillis;
    private UpstreamHead upstreamHead;
    /** The current upstream call's request head, shared by its attempts; null until the first is sent. */
    private RequestHead requestHead;
    private CompositeByteBuf errorBody;
    /** The last upstream error answer that led to a failover, kept to answer with if no key is left. */
    private FullHttpResponse lastError;
    private Verdict lastVerdict;
    private boolean paused;
    /** The key that holds what this request references (README, key affinity), or null: any key. */
    private ApiKey pinned;
    private String pinnedResource;
    /** An upstream refused one of this request's keys as invalid (at most one is set aside per request). */
    private boolean refusedKey;
    /** Keys refused as invalid after the first in this request: counted, never set aside. */
    private int extraRefusals;
    /** Time this request already spent waiting for a key to free (failover.maxWait). */
    private long waitedMillis;
    /** The current attempt's exit (null: direct); see {@link io.gemgate.core.egress.Exits}. */
    private Exit exit;
    /** Exit failures this request met; bounds the re-routing of one key over the exits. */
    private int exitFailures;
    /** A key was passed over because no exit could carry it (not its fault, not counted against it). */
    private boolean exitUnavailable;

    // The request log's record (README, "Request log and usage"), gathered from what the exchange knows anyway; null
    // lists when it is off.
    /** The upstream calls so far, for the record; null when the request log is off. */
    private java.util.ArrayList<io.gemgate.core.requestlog.AttemptRecord> attemptLog;
    /** The user token, kept for the record after its admission is released. */
    private io.gemgate.core.tokens.UserToken recordUser;
    /** The current attempt's upstream status (0 until its head arrived). */
    private int attemptStatus;
    /** The current failed attempt's error body (its bytes read once, on the failure path only), or null. */
    private byte[] attemptError;
    /** The last failed attempt's error message and body, for the record. */
    private String lastErrorMessage;
    private byte[] lastErrorBody;
    /** The error the gateway answered itself, for the record. */
    private String gatewayError;
    private long bytesOut;
    private long reasoningTokens;
    private boolean streamed;
    /** The record was handed to the request log (once per request). */
    private boolean recorded;

    /**
     * @param body    the upstream request body; owned by the exchange from here on
     * @param model   the model name the key pool accounts the request to
     * @param route   the route label for metrics ({@link io.gemgate.core.metrics.GatewayEvents#ROUTES})
     * @param logLine method and path for the access log (no client key in it); null when the subclass gives them
     *                ({@link #logMethod()}, {@link #logTarget()})
     */
    protected Exchange(GatewayContext gw, ClientConnection client, HttpVersion clientVersion, ByteBuf body,
                       String model, String route, RequestLine logLine, boolean keepAlive) {
        this.gw = gw;
        this.route = route;
        this.client = client;
        this.clientVersion = clientVersion;
        this.body = body;
        this.logLine = logLine;
        KeyPool pool = gw.pool();
        this.model = pool.model(model);
        this.attempts = new KeyAttempts(pool.maxAttempts());
        this.closeAfter = !keepAlive;
        if (gw.requestLog().isOn()) {
            attemptLog = new java.util.ArrayList<>(2);
        }
    }

    // ------------------------------------------------------------------------------------------ subclass hooks

    /** The upstream request line and headers, without Host, key, Content-Length or Accept-Encoding. */
    protected abstract HttpRequest newUpstreamRequest();

    /**
     * The upstream request head of the current call, made once for all its attempts: by default from
     * {@link #newUpstreamRequest()}; the pass-through builds it straight from the client's request.
     */
    protected RequestHead newRequestHead() {
        HttpRequest req = newUpstreamRequest();
        return RequestHead.of(req.method(), req.uri(), req.headers(), gw.upstream().hostHeader(),
                declaredLength(req.method()));
    }

    /** The Content-Length the upstream request declares: the body's size, or -1 (none) for a bodiless GET. */
    protected final long declaredLength(HttpMethod m) {
        boolean send = body.isReadable() || m.equals(HttpMethod.POST) || m.equals(HttpMethod.PUT)
                || m.equals(HttpMethod.PATCH);
        return send ? body.readableBytes() : -1;
    }

    /** A 2xx answer (or a status that is passed through unclassified) arrived: from here, no more failover. */
    protected abstract void onHead(UpstreamHead head);

    /** A chunk of that answer; ownership passes. The last one ends with {@link #finish}. */
    protected abstract void onBody(HttpContent content);

    /**
     * An upstream error answer that is not retried (a client error), or the last one when the attempts are spent
     * while other keys remain. Ownership of {@code error} passes; the subclass writes it (as is or translated) and
     * calls {@link #finish}.
     */
    protected abstract void onUpstreamError(FullHttpResponse error, Verdict verdict);

    /** An error the gateway makes itself, in the route's error shape; ends with {@link #finish}. */
    protected abstract void respondError(int code, String message, long retryAfterSeconds);

    /** The upstream failed after the client had seen bytes: end the answer so the client knows, then close. */
    protected abstract void abortStream(String why);

    // ------------------------------------------------------------------------------------------------ attempts

    /**
     * Starts the first attempt: with the key that holds what the request references, when it references a file,
     * cache, batch, store or upload session (README, key affinity), else with the pool's pick.
     */
    public void start() {
        groups = gw.pool().groups(gw.settings().groupsFor(model.name()),
                user == null ? null : user.limits().keyGroups());
        java.util.List<String> refs = affinityReferences();
        if (refs == null) {
            nextAttempt();
            return;
        }
        routeByAffinity(refs, false);
    }

    /**
     * The project-bound resources this request acts on or references ({@code files/abc} ...), or null for none. By
     * default, the references in a translated chat completion's Gemini body ({@code file_id} parts become
     * {@code fileData}); the native pass-through adds its path and upload session.
     */
    protected java.util.List<String> affinityReferences() {
        return io.gemgate.core.metrics.GatewayEvents.OPENAI_CHAT.equals(route)
                ? io.gemgate.core.affinity.ReferenceScanner.scan(body) : null;
    }

    private void routeByAffinity(java.util.List<String> refs, boolean looked) {
        io.gemgate.core.affinity.AffinityMap map = gw.affinity();
        io.gemgate.core.affinity.AffinityMap.Entry holder = null;
        java.util.List<String> unknown = null;
        String user = userId();
        for (String n : refs) {
            io.gemgate.core.affinity.AffinityMap.Entry e = map.get(n);
            if (e != null && !user.isEmpty() && !user.equals(e.owner()) && !n.startsWith(io.gemgate.core.affinity.AffinityMap.UPLOAD)) {
                // Per-user scoping: a user token sees and uses only what it created.
                gw.affinityStats().failure(io.gemgate.core.affinity.AffinityStats.Failure.NOT_FOUND);
                notFound(n, " It was created with another token of this gateway.");
                return;
            }
            if (e == null) {
                if (!n.startsWith(io.gemgate.core.affinity.AffinityMap.UPLOAD)) {
                    unknown = unknown == null ? new java.util.ArrayList<>(2) : unknown;
                    unknown.add(n);
                }
                continue;
            }
            if (holder == null) {
                holder = e;
            } else if (!sameHolder(holder, e)) {
                gw.affinityStats().failure(io.gemgate.core.affinity.AffinityStats.Failure.CONFLICT);
                respondError(400, "This request references " + holder.name() + " (held by key "
                        + masked(holder.keyId()) + ") and " + e.name() + " (held by key " + masked(e.keyId())
                        + "): they belong to different Cloud projects (Gemini binds each to the project of the key that "
                        + "created it), so no key can use both. Use resources created with the same key, or create "
                        + "them again together.", -1);
                return;
            }
        }
        if (unknown != null && !looked && gw.config().affinity().lookupMaxKeys() > 0) {
            java.util.List<String> refsFinal = refs;
            OwnerLookup.find(gw, client.eventLoop(), unknown, userId(), r -> afterLookup(refsFinal, r));
            return;
        }
        if (holder == null) {
            nextAttempt();
            return;
        }
        ApiKey k = gw.pool().find(holder.keyId());
        if (k == null) {
            gw.affinityStats().failure(io.gemgate.core.affinity.AffinityStats.Failure.OWNER_UNAVAILABLE);
            respondError(503, holder.name() + " is held by a key that is no longer in this gateway's pool; it cannot "
                    + "be used through another key (files, cached contents, batches and stores stay with the Cloud "
                    + "project of the key that created them). Create it again.", -1);
            return;
        }
        gw.affinityStats().hit();
        pin(k, holder.name());
        nextAttempt();
    }

    private void afterLookup(java.util.List<String> refs, OwnerLookup.Result r) {
        if (!isAcquiring()) {
            return; // the client left meanwhile
        }
        if (!r.missing().isEmpty()) {
            String n = r.missing().get(0);
            if (r.unsure()) {
                gw.affinityStats().failure(io.gemgate.core.affinity.AffinityStats.Failure.LOOKUP_FAILED);
                respondError(503, "Gemgate could not find which of its keys holds " + n + ": some of the keys it "
                        + "asked did not answer. Retry in a moment.", 5);
                return;
            }
            gw.affinityStats().failure(io.gemgate.core.affinity.AffinityStats.Failure.NOT_FOUND);
            notFound(n, " None of this gateway's keys holds " + n + " (asked one key per project; each file, "
                    + "cached content, batch and store belongs to the Cloud project of the key that created it"
                    + (n.startsWith("files/") ? ", and files expire 48 hours after upload" : "") + ").");
            return;
        }
        routeByAffinity(refs, true);
    }

    /** Google's answer for a resource the caller may not see: 403 for files and caches, else 404; plus {@code why}. */
    private void notFound(String n, String why) {
        String id = n.substring(n.indexOf('/') + 1);
        if (!io.gemgate.core.metrics.GatewayEvents.NATIVE.equals(route) && n.startsWith("files/")) {
            respondError(404, "No such File object: file-" + id + "." + why, -1); // OpenAI's answer
        } else if (n.startsWith("files/")) {
            respondError(403, "You do not have permission to access the File " + id + " or it may not exist." + why,
                    -1);
        } else if (n.startsWith("cachedContents/")) {
            respondError(403, "CachedContent not found (or permission denied)." + why, -1);
        } else {
            respondError(404, "Requested entity was not found." + why, -1);
        }
    }

    private static boolean sameHolder(io.gemgate.core.affinity.AffinityMap.Entry a, io.gemgate.core.affinity.AffinityMap.Entry b) {
        return a.keyId().equals(b.keyId()) || (!a.project().isEmpty() && a.project().equals(b.project()));
    }

    private String masked(String keyId) {
        ApiKey k = gw.pool().find(keyId);
        return k == null ? "(removed)" : k.masked();
    }


    private void nextAttempt() {
        if (attempts.count() > 0 && pastDeadline()) {
            if (pinned != null) {
                holderCannotServe();
            } else {
                noKeyLeft();
            }
            return;
        }
        ApiKey next = pinned != null ? gw.pool().acquireKey(pinned, model, attempts)
                : gw.pool().acquire(model, groups, attempts);
        if (next == null) { // key stays the last one tried, for the access log
            if (pinned != null) {
                holderCannotServe();
            } else {
                noKeyLeft();
            }
            return;
        }
        key = next;
        send();
    }

    /**
     * Sends every attempt of this request to {@code holder} (or a key of its project): the request references
     * {@code resource}, which Gemini binds to that key's Cloud project (README, key affinity). Call before
     * {@link #start}.
     */
    protected final void pin(ApiKey holder, String resource) {
        this.pinned = holder;
        this.pinnedResource = resource;
    }

    /** The request body (owned by the exchange: read it, do not release it). */
    protected final ByteBuf body() {
        return body;
    }

    /** True until the first attempt starts (and while waiting for a key): the exchange has not answered yet. */
    protected final boolean isAcquiring() {
        return phase == Phase.ACQUIRING;
    }

    /** The key this request is pinned to, or null. */
    protected final ApiKey pinned() {
        return pinned;
    }

    /** The user token id of the request, or "" (the shared token). */
    protected final String userId() {
        return user == null ? "" : user.id();
    }

    /**
     * The holder of a resource this request references cannot serve it now (README, key affinity, "When the holder
     * cannot serve"): cooling down, wait within failover.maxWait, else 429 with Retry-After; exhausted for the day,
     * invalid, disabled or removed: a clear error naming the resource and why. Never another project's key: it would
     * answer 403.
     */
    private void holderCannotServe() {
        KeyPool pool = gw.pool();
        ApiKey h = pinned;
        for (ApiKey m : pinned.projectKeys()) { // a key of its project that is only resting says more
            if (m.isEnabled() && !m.isRemoved() && !m.isInvalid()
                    && (h.isRemoved() || !h.isEnabled() || h.isInvalid())) {
                h = m;
            }
        }
        long now = gw.now();
        io.gemgate.core.affinity.AffinityStats stats = gw.affinityStats();
        String who = pinnedResource + " is held by key " + h.masked()
                + (h.project().isEmpty() ? "" : " (project " + h.project() + ")");
        String why = " (files, cached contents, batches and stores stay with the Cloud project of the key that "
                + "created them)";
        if (h.isRemoved() || !h.isEnabled() || h.isInvalid()) {
            String state = h.isRemoved() ? "removed from the pool" : !h.isEnabled() ? "disabled"
                    : "refused by the upstream as invalid (" + h.invalidReason() + ")";
            stats.failure(io.gemgate.core.affinity.AffinityStats.Failure.OWNER_UNAVAILABLE);
            releaseLastError();
            respondError(503, who + ", which is " + state + "; it cannot be used through another key" + why
                    + ". Create it again.", -1);
            return;
        }
        long exhausted = pool.exhaustedUntil(h, model);
        if (exhausted > now) {
            stats.failure(io.gemgate.core.affinity.AffinityStats.Failure.OWNER_EXHAUSTED);
            releaseLastError();
            long seconds = Math.max(1, (exhausted - now + 999) / 1000);
            respondError(503, who + ", which has spent its daily quota for " + model.name() + "; retry after the "
                    + "daily reset in " + seconds + "s" + why + ".", seconds);
            return;
        }
        long cooling = pool.cooldownUntil(h, model);
        if (cooling > now) {
            long maxWait = gw.settings().failoverMaxWait().toMillis();
            long delay = cooling - now;
            if (maxWait > 0 && waitedMillis + delay <= maxWait) {
                waitedMillis += delay;
                phase = Phase.ACQUIRING;
                attempts = new KeyAttempts(gw.pool().maxAttempts()); // the same key, once it is free again
                client.eventLoop().schedule(() -> {
                    if (phase == Phase.ACQUIRING) {
                        nextAttempt();
                    }
                }, delay, TimeUnit.MILLISECONDS);
                return;
            }
            stats.failure(io.gemgate.core.affinity.AffinityStats.Failure.OWNER_COOLING);
            releaseLastError();
            long seconds = Math.max(1, (delay + 999) / 1000);
            respondError(429, who + ", which is cooling down for " + model.name() + "; retry in " + seconds + "s"
                    + why + ".", seconds);
            return;
        }
        // It could serve, but this request has tried it already: the upstream's own answer, or why there was none.
        VerdictKind last = lastVerdict == null ? null : lastVerdict.kind();
        if (lastError != null) {
            useLastError();
        } else if (last == VerdictKind.CONNECT_FAILURE) {
            respondError(502, "upstream unreachable with the key that holds " + pinnedResource, -1);
        } else if (last == VerdictKind.TIMEOUT) {
            respondError(504, "upstream did not answer in time with the key that holds " + pinnedResource, -1);
        } else {
            respondError(502, "upstream answered nothing usable with the key that holds " + pinnedResource, -1);
        }
    }

    private void releaseLastError() {
        if (lastError != null) {
            lastError.release();
            lastError = null;
        }
    }

    /**
     * failover.deadline: a request tries keys that can serve until one does, none is left for the model, or this long
     * after it arrived (read whole, when the exchange began) has passed. Only costly failures count against
     * {@code pool.maxAttempts} ({@link KeyAttempts#isSpent()}).
     */
    private boolean pastDeadline() {
        return System.nanoTime() - callStartNanos >= gw.settings().failoverDeadline().toNanos();
    }

    /** Milliseconds left of the failover deadline (negative once passed). */
    private long deadlineLeftMillis() {
        return gw.settings().failoverDeadline().toMillis() - (System.nanoTime() - callStartNanos) / 1_000_000;
    }

    /** Sends the request with the current key on a pooled connection (through the key's exit, if any). */
    private void send() {
        phase = Phase.ACQUIRING;
        Exits exits = gw.exits();
        if (!exits.isDirectOnly() || key.proxySpec() != null) {
            exit = exits.route(key, gw.now());
            if (exit == Exits.NONE) {
                // No exit may carry this key now (its own proxy fails, or its exit cools and keys wait): the next
                // key, and no penalty for this one.
                exit = null;
                exitUnavailable = true;
                log.debug("no exit for key {} now; trying the next key", key.masked());
                nextAttempt();
                return;
            }
            exits.sent(exit);
        }
        // The first attempt starts with the exchange (its clock read serves both).
        long now = sentOnce ? System.nanoTime() : startNanos;
        sentOnce = true;
        attemptStartNanos = now;
        attemptStatus = 0;
        Future<Channel> f = gw.upstream().acquire(client.eventLoop(), now, exit);
        if (f.isDone()) {
            onConnection(f, now);
        } else {
            f.addListener(done -> onConnection(done, System.nanoTime()));
        }
    }

    private void onConnection(Future<? super Channel> f, long nowNanos) {
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
            if (f.cause() instanceof ExitConnectException e) {
                exitFailed(e.reason(), e.getMessage());
                return;
            }
            log.debug("upstream connect failed with key {}: {}", key.masked(), f.cause().toString());
            attemptFailed(Verdict.CONNECT_FAILURE, null);
            return;
        }
        Channel ch = (Channel) f.getNow();
        upstream = ch;
        RequestHead head = requestHead;
        if (head == null) {
            head = requestHead = newRequestHead();
        }
        UpstreamClient.attach(ch, this, head.isHead());
        phase = Phase.WAITING_HEAD;
        // The head (with this attempt's key) and the body, framed by the head's Content-Length: a small body copied
        // behind the head into one buffer (one write), a large one as a second buffer of the same writev. A failed
        // write reaches UpstreamHandler.exceptionCaught, which closes the connection; onInactive then decides (stale
        // pooled connection or failure).
        if (body.readableBytes() <= INLINE_BODY_BYTES) {
            ch.writeAndFlush(head.encode(ch.alloc(), key, body), ch.voidPromise());
        } else {
            ch.write(head.encode(ch.alloc(), key), ch.voidPromise());
            ch.writeAndFlush(body.retainedDuplicate(), ch.voidPromise());
        }
        // upstream.responseTimeout: on the client connection's one timer (no timer task per attempt), cleared when the
        // head arrives (cancelHeadTimeout) or the attempt ends; onDeadline then tries the next key.
        client.deadline(this, gw.config().upstream().responseTimeout().toMillis(), nowNanos);
        ch.read();
    }

    /**
     * The current exit failed this request (refused, timed out, dropped the tunnel, or Google refused its location):
     * the exit is marked, the key is not, and the same key goes again through the exit it is re-pinned to, before
     * anything reached the client. After as many exit failures as there are exits, the upstream counts as
     * unreachable.
     */
    private void exitFailed(Exit.Failure reason, String why) {
        Exit failed = exit;
        exit = null;
        if (reason == Exit.Failure.LOCATION) {
            gw.exits().locationRefused(failed);
        } else if (reason != Exit.Failure.RATE_LIMIT) {
            gw.exits().failed(failed, reason);
        }
        log.info("exit {} failed ({}): {}; key {} goes through the next exit", failed.label(), reason.label(), why,
                key.masked());
        if (++exitFailures > gw.exits().all().size()) {
            respondError(502, "no exit could reach the upstream after " + exitFailures + " attempt(s)", -1);
            return;
        }
        staleRetried = false;
        send();
    }

    /** The upstream response timeout passed before the answer's head (set in onConnection): the next key is tried. */
    @Override
    public final void onDeadline() {
        if (phase != Phase.WAITING_HEAD) {
            return;
        }
        log.debug("no response head within the timeout with key {}", key.masked());
        dropUpstream();
        attemptFailed(Verdict.TIMEOUT, null);
    }

    /** Detaches from and closes the current upstream connection (its answer is abandoned). */
    protected final void dropUpstream() {
        Channel ch = upstream;
        upstream = null;
        if (ch != null) {
            UpstreamClient.detach(ch);
            ch.close();
        }
        cancelHeadTimeout();
    }

    private void cancelHeadTimeout() {
        client.clearDeadline(this);
    }

    /** Gives the current upstream connection back (or closes it when its answer was not read to the end). */
    private void releaseUpstream(long nowNanos) {
        Channel ch = upstream;
        upstream = null;
        if (ch != null) {
            boolean complete = UpstreamClient.detach(ch);
            boolean keepAlive = upstreamHead == null || upstreamHead.isKeepAlive();
            gw.upstream().release(ch, complete && keepAlive, nowNanos);
        }
    }

    /**
     * Records a failed attempt and moves on: the next key when the verdict calls for it, else the answer goes to
     * the subclass.
     *
     * @param error the upstream's error answer, or null when there was none (connect failure, timeout); owned here
     */
    protected final void attemptFailed(Verdict verdict, FullHttpResponse error) {
        if (verdict.kind() == VerdictKind.INVALID_KEY && refusedKey) {
            // One request sets aside at most one key (README, "Failover and verdicts"): a further refusal is counted,
            // never set aside. The request still goes on to the next key, so that a pool holding several dead keys
            // answers from a good one; each further refusal spends one of pool.maxAttempts, so an upstream that refuses
            // every key costs a request at most that many more calls.
            record(new Verdict(VerdictKind.CLIENT_ERROR, -1, verdict.reason()), true);
            extraRefusals++;
            attempts.costlyFailure();
            lastVerdict = verdict;
            if (error != null) {
                error.release(); // Google's "API key not valid" is never relayed: it would blame the client's token
            }
            if (lastError != null) {
                lastError.release();
                lastError = null;
            }
            nextAttempt();
            return;
        }
        refusedKey |= verdict.kind() == VerdictKind.INVALID_KEY;
        record(verdict, verdict.kind().retryOnNextKey());
        if (verdict.kind().isCostly()) {
            attempts.costlyFailure();
        }
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
        lastError = null;
        status = error.status().code();
        onUpstreamError(error, verdict);
    }

    /**
     * A 2xx answer turned out unusable before anything reached the client (an empty answer): release the connection
     * (the subclass has read it to its end) and try the next key.
     */
    protected final void retryOnNextKey(Verdict verdict) {
        releaseUpstream(System.nanoTime());
        upstreamHead = null;
        attemptFailed(verdict, null);
    }

    /**
     * The current call succeeded and was read to its end; the request needs another upstream call (one more batch).
     * Records the success, gives the connection back and starts the next call with fresh attempts.
     *
     * @param nextBody the next call's request body; owned by the exchange from here on
     */
    protected final void nextCall(ByteBuf nextBody, long promptTokens, long outputTokens) {
        record(Verdict.SUCCESS, false);
        if (promptTokens > 0 || outputTokens > 0) {
            gw.pool().recordUsage(key, model, promptTokens, outputTokens);
            gw.events().tokens(model.name(), user == null ? null : user.name(), promptTokens, outputTokens);
        }
        releaseUpstream(System.nanoTime());
        upstreamHead = null;
        body.release();
        body = nextBody;
        requestHead = null;
        attempts.reset();
        callStartNanos = System.nanoTime();
        lastVerdict = null;
        if (lastError != null) {
            lastError.release();
            lastError = null;
        }
        nextAttempt();
    }

    /**
     * No key left for this request: none can serve the model, the costly failures reached {@code pool.maxAttempts}, or
     * the failover deadline passed. An upstream 5xx is answered as it came; connect failures and timeouts become
     * 502 and 504. When the deadline passed while other keys could still serve, the upstream's own 429 is used;
     * when no key can serve, the pool says why (429 all cooling, 503 all exhausted, invalid or disabled). Google's
     * "API key not valid" is never passed on: it would blame the client's credentials for ours.
     */
    private void noKeyLeft() {
        if (waitForAKey()) {
            return;
        }
        VerdictKind last = lastVerdict == null ? null : lastVerdict.kind();
        if (last == null && exitUnavailable) {
            long retry = Math.max(1, gw.exits().settings().checkInterval().toSeconds());
            respondError(503, "no exit to the upstream can carry a key now (failing or cooling proxies)", retry);
            return;
        }
        if (last == VerdictKind.SERVER_ERROR && lastError != null) {
            useLastError();
        } else if (last == VerdictKind.CONNECT_FAILURE) {
            respondError(502, "upstream unreachable after " + attempts.count() + " attempt(s)", -1);
        } else if (last == VerdictKind.TIMEOUT) {
            respondError(504, "upstream did not answer in time after " + attempts.count() + " attempt(s)", -1);
        } else if (last == VerdictKind.EMPTY_ANSWER || (last == VerdictKind.SERVER_ERROR && lastError == null)) {
            respondError(502, "upstream answered nothing usable after " + attempts.count() + " attempt(s)", -1);
        } else if (last == VerdictKind.INVALID_KEY && extraRefusals > 0) {
            respondError(502, "the upstream refused " + (extraRefusals + 1) + " keys for this request ("
                    + lastVerdict.reason() + ") and no other key served; a request sets aside at most one key", -1);
        } else if (last == VerdictKind.INVALID_KEY && gw.pool().hasAvailableKey(model, groups)) {
            respondError(503, "the upstream refused the last key tried (" + lastVerdict.reason() + ") and the "
                    + "failover deadline passed after " + attempts.count() + " attempt(s)", 1);
        } else if (lastError != null && last != VerdictKind.INVALID_KEY && gw.pool().hasAvailableKey(model, groups)) {
            useLastError();
        } else {
            Unavailable u = gw.pool().unavailable(model, groups);
            respondError(u.status(), u.message(), u.retryAfterSeconds());
        }
    }

    /**
     * failover.maxWait: when every key left is only cooling down and one frees within the wait, try again then, on a
     * timer (no thread waits). Returns true when a retry was scheduled.
     */
    private boolean waitForAKey() {
        long maxWait = Math.min(gw.settings().failoverMaxWait().toMillis(), deadlineLeftMillis());
        if (maxWait <= 0 || attempts.isSpent()) {
            return false;
        }
        long now = gw.now();
        long free = gw.pool().nextFreeMillis(model, groups, attempts);
        if (free == Long.MAX_VALUE || free - now > maxWait || waitedMillis + (free - now) > maxWait) {
            return false;
        }
        long delay = Math.max(1, free - now);
        waitedMillis += delay;
        phase = Phase.ACQUIRING;
        client.eventLoop().schedule(() -> {
            if (phase == Phase.ACQUIRING) {
                nextAttempt();
            }
        }, delay, TimeUnit.MILLISECONDS);
        return true;
    }

    private void useLastError() {
        FullHttpResponse e = lastError;
        lastError = null;
        if (lastVerdict.retryDelayMillis() > 0) {
            e.headers().set(HttpHeaderNames.RETRY_AFTER, (lastVerdict.retryDelayMillis() + 999) / 1000);
        }
        status = e.status().code();
        onUpstreamError(e, lastVerdict);
    }

    // ----------------------------------------------------------------------------------------- upstream events

    @Override
    public final void onResponseHead(UpstreamHead head) {
        if (phase != Phase.WAITING_HEAD) {
            return;
        }
        cancelHeadTimeout();
        headNanos = System.nanoTime();
        headLatencyMillis = (headNanos - attemptStartNanos) / 1_000_000;
        upstreamHead = head;
        status = head.status();
        attemptStatus = status;
        if (isClassified(status)) {
            phase = Phase.READING_ERROR;
            errorBody = client.alloc().compositeBuffer(64);
            return;
        }
        if (status >= 300) {
            record(Verdict.CLIENT_ERROR, false);
        }
        phase = Phase.STREAMING;
        onHead(head);
    }

    /** Statuses whose body decides between failover and passing the answer on. */
    private static boolean isClassified(int status) {
        return status == 400 || status == 401 || status == 403 || status == 408 || status == 429 || status >= 500;
    }

    @Override
    public final void onContent(HttpContent content) {
        switch (phase) {
            case STREAMING, BODY -> onBody(content);
            case READING_ERROR -> {
                errorBody.addComponent(true, content.content());
                if (content instanceof LastHttpContent) {
                    classifyError();
                } else if (errorBody.readableBytes() > MAX_ERROR_BODY) {
                    // Too large to be one of Google's error bodies: pass it on unclassified.
                    record(Verdict.CLIENT_ERROR, false);
                    CompositeByteBuf b = errorBody;
                    errorBody = null;
                    phase = Phase.STREAMING;
                    onHead(upstreamHead);
                    onBody(new io.netty.handler.codec.http.DefaultHttpContent(b));
                }
            }
            default -> ReferenceCountUtil.release(content);
        }
    }

    private void classifyError() {
        CompositeByteBuf b = errorBody;
        errorBody = null;
        if (status == 400 && ExitVerdicts.isLocationRefused(b)) {
            // Google refuses the country the request came from: the exit's verdict (or the gateway's own, direct),
            // never the key's and never the client's.
            b.release();
            releaseUpstream(System.nanoTime());
            upstreamHead = null;
            if (exit != null) {
                exitFailed(Exit.Failure.LOCATION, "the upstream refused the exit's location");
            } else {
                respondError(502, "the upstream refused the gateway's location (User location is not supported for"
                        + " the API use); configure upstream.proxies", -1);
            }
            return;
        }
        Verdict v = VerdictClassifier.classify(status, b);
        if (attemptLog != null) {
            attemptError = io.netty.buffer.ByteBufUtil.getBytes(b, b.readerIndex(),
                    Math.min(b.readableBytes(), MAX_ERROR_BODY), false);
        }
        if (exit != null && v.kind() == VerdictKind.RATE_LIMIT && gw.exits().rateLimited(exit, key, model)) {
            // Every key of this exit is answered 429: the exit's rate limit, not this key's.
            b.release();
            releaseUpstream(System.nanoTime());
            upstreamHead = null;
            exitFailed(Exit.Failure.RATE_LIMIT, "every key pinned to it answered 429");
            return;
        }
        FullHttpResponse error = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, upstreamHead.httpStatus(), b,
                upstreamHead.headers(), EmptyHttpHeaders.INSTANCE);
        releaseUpstream(System.nanoTime());
        upstreamHead = null;
        attemptFailed(v, error);
    }

    @Override
    public final void onReadComplete() {
        Channel ch = upstream;
        if (ch == null) {
            return;
        }
        if (phase == Phase.STREAMING) {
            client.flush();
            if (client.isWritable()) {
                ch.read();
            } else {
                paused = true; // back-pressure: the client is slow, resume reading in onClientWritable
            }
        } else if (phase == Phase.WAITING_HEAD || phase == Phase.READING_ERROR || phase == Phase.BODY) {
            ch.read();
        }
    }

    /** The client can take more again: resume reading the upstream. */
    public final void onClientWritable() {
        if (paused && phase == Phase.STREAMING && upstream != null) {
            paused = false;
            upstream.read();
        }
    }

    @Override
    public final void onInactive() {
        switch (phase) {
            case WAITING_HEAD -> {
                Channel ch = upstream;
                upstream = null;
                cancelHeadTimeout();
                if (ch != null && UpstreamClient.wasReused(ch) && !staleRetried) {
                    // A pooled keep-alive connection closed under us (RFC 9112 §9.3.1): one retry with the same key,
                    // fresh socket.
                    staleRetried = true;
                    send();
                    return;
                }
                if (exit != null) {
                    exitFailed(Exit.Failure.TUNNEL, "the tunnel closed before the answer began");
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
                failMidAnswer("upstream connection closed before the answer ended");
            }
            case BODY -> {
                upstream = null;
                if (exit != null) {
                    // Nothing reached the client: a tunnel that drops here is the exit's, as before the head.
                    discardAnswer();
                    upstreamHead = null;
                    exitFailed(Exit.Failure.TUNNEL, "the tunnel closed before the answer was read");
                    return;
                }
                bodyBroke("upstream connection closed before the answer ended");
            }
            default -> upstream = null;
        }
    }

    @Override
    public final void onStreamIdle() {
        if (phase == Phase.STREAMING && !paused) {
            dropUpstream();
            failMidAnswer("upstream sent nothing for " + gw.config().upstream().streamIdleTimeout().toSeconds() + "s");
        } else if (phase == Phase.BODY) {
            dropUpstream();
            bodyBroke("upstream sent nothing for " + gw.config().upstream().streamIdleTimeout().toSeconds() + "s");
        }
    }

    /**
     * An answer that is read whole before anything of it reaches the client broke off (closed, reset or stalled
     * after its head): nothing of it was sent, so the next key is tried, as before the head (failover only while the
     * client has seen nothing).
     */
    private void bodyBroke(String why) {
        log.debug("answer with key {} for {} broke off before the client saw it: {}; trying the next key",
                key.masked(), model.name(), why);
        discardAnswer();
        upstreamHead = null;
        attemptFailed(new Verdict(VerdictKind.SERVER_ERROR, -1, "answer cut"), null);
    }

    /** Drops what the subclass collected of an answer that broke off in {@link Phase#BODY}; the next key follows. */
    protected void discardAnswer() {
    }

    /** The answer broke off: records it against the key and lets the subclass end the client's answer. */
    private void failMidAnswer(String why) {
        log.info("answer with key {} for {} broke off: {}", key.masked(), model.name(), why);
        record(new Verdict(VerdictKind.SERVER_ERROR, -1, "answer cut"), false);
        abortStream(why);
    }

    // ------------------------------------------------------------------------------------------ finishing

    /** Milliseconds from the attempt's request to its response head. */
    protected final long headLatencyMillis() {
        return headLatencyMillis;
    }

    /**
     * Ends the exchange: records the outcome (when given) and the tokens, writes the last content (when given;
     * ownership passes) after counting so that whatever the client sees is already counted, gives the upstream
     * connection back and hands the client connection back to its handler.
     *
     * @param last an HTTP object for the client's encoder, or a {@link ByteBuf} of raw response bytes (the
     *             pass-through's own framing, see {@link ClientConnection#writeRaw}), or null
     */
    protected final void finish(Verdict verdict, long promptTokens, long outputTokens, Object last) {
        if (verdict != null) {
            record(verdict, false);
            usedPrompt += promptTokens;
            usedOutput += outputTokens;
            if (promptTokens > 0 || outputTokens > 0) {
                gw.pool().recordUsage(key, model, promptTokens, outputTokens);
                gw.events().tokens(model.name(), user == null ? null : user.name(), promptTokens, outputTokens);
            }
        }
        releaseUser(); // before the last byte leaves: what the client sees is already counted
        long now = System.nanoTime(); // one clock read for the end: time to first byte, duration, pool, idle timer
        if (last != null) {
            markFirstByte(now);
        }
        if (attemptLog != null) {
            // Before the last byte leaves, like the counts: a client that reads the answer and then asks the admin
            // API finds its record.
            logRecord(now);
        }
        if (last instanceof ByteBuf raw) {
            client.writeRawAndFlush(raw);
        } else if (last != null) {
            client.writeAndFlush((io.netty.handler.codec.http.HttpObject) last);
        }
        releaseUpstream(now);
        phase = Phase.DONE;
        cleanup();
        ended(now);
        client.exchangeDone(closeAfter, now);
    }

    /** Records a verdict in the pool and reports the attempt. */
    private void record(Verdict verdict, boolean failover) {
        gw.pool().record(key, model, verdict, headLatencyMillis);
        if (attemptLog != null) {
            logAttempt(verdict);
        }
        if (verdict.kind() == VerdictKind.SUCCESS && !gw.exits().isDirectOnly()) {
            gw.exits().succeeded(exit, gw.now());
        }
        gw.events().attempt(model.name(), verdict.kind().label(), failover);
    }

    /** Adds the current attempt to the record: its key (masked), what the upstream answered, what it meant. */
    private void logAttempt(Verdict verdict) {
        boolean ok = verdict.kind() == VerdictKind.SUCCESS;
        long latency = attemptStatus > 0 ? headLatencyMillis : (System.nanoTime() - attemptStartNanos) / 1_000_000;
        String message = null;
        byte[] err = attemptError;
        attemptError = null;
        if (err != null && !ok) {
            message = io.gemgate.core.requestlog.ErrorText.googleMessage(err, 0, err.length);
            lastErrorMessage = message;
            lastErrorBody = err;
        }
        java.util.Set<String> groups = key.groups();
        attemptLog.add(new io.gemgate.core.requestlog.AttemptRecord(key.id(), key.masked(), key.tier(),
                groups.isEmpty() ? "" : groups.size() == 1 ? groups.iterator().next() : String.join(",", groups),
                attemptStatus, verdict.kind().label(), ok ? null : verdict.reason(), message, latency));
    }

    /**
     * Notes the error the gateway answers itself (no key left, unreachable upstream...), for the request log; the
     * subclasses call it from {@link #respondError}.
     */
    protected final void gatewayError(String message) {
        gatewayError = message;
    }

    /** Notes the thought tokens of the answer (part of the output tokens), for the request log. */
    protected final void reasoningTokens(long n) {
        reasoningTokens = n;
    }

    /** Notes that the answer is streamed (SSE), for the request log. */
    protected final void streamed(boolean s) {
        streamed = s;
    }

    /** Notes the moment the first byte of the answer goes to the client (time to first byte). */
    protected final void markFirstByte() {
        if (firstByteNanos < 0) {
            markFirstByte(System.nanoTime());
        }
    }

    /** {@link #markFirstByte()} at a time the caller read ({@link System#nanoTime()}). */
    protected final void markFirstByte(long nowNanos) {
        if (firstByteNanos < 0) {
            firstByteNanos = nowNanos - startNanos;
        }
    }

    /** When the current attempt's response head arrived ({@link System#nanoTime()}). */
    protected final long headNanos() {
        return headNanos;
    }

    /** Reports bytes written to the client. */
    protected final void wrote(long bytes) {
        bytesOut += bytes;
        gw.events().bytes(0, bytes);
    }

    /** The user token this request was admitted for; its limiter is released when the request ends. */
    public final void user(io.gemgate.core.tokens.UserToken t) {
        this.user = t;
        this.recordUser = t;
    }

    /** The model the key pool accounts this request to. */
    public final String modelName() {
        return model.name();
    }

    /** Drops a request that was refused before it started (a user limit): frees what it owns, writes nothing. */
    public final void abandon() {
        phase = Phase.DONE;
        cleanup();
    }

    /** Gives the user token's concurrency slot back and adds the tokens used; once. */
    private void releaseUser() {
        if (user != null) {
            gw.limiter().release(user, usedPrompt, usedOutput, gw.now());
            user = null;
        }
    }

    private void ended(long nowNanos) {
        releaseUser();
        gw.events().requestFinished(route, model.name(), status, nowNanos - startNanos, firstByteNanos);
        if (key != null && status < 400) {
            gw.events().servedByTier(key.tier());
        }
        if (attemptLog != null && !recorded) {
            logRecord(nowNanos); // the access line is written from it too
        }
    }

    /** The API a route label belongs to, for the request log: {@code gemini}, {@code openai} or {@code anthropic}. */
    public static String protocolOf(String routeLabel) {
        return routeLabel.startsWith("openai") ? "openai" : routeLabel.startsWith("anthropic") ? "anthropic" : "gemini";
    }

    /**
     * Hands the request's record to the request log, which queues it without blocking; its writer writes the access
     * line from it too.
     */
    private void logRecord(long nowNanos) {
        recorded = true;
        long ms = (nowNanos - startNanos) / 1_000_000;
        String method = logMethod();
        String target = logTarget();
        String path = target == null ? "-" : client.forLog(target);
        boolean failed = status >= 400;
        String reason = null;
        String message = null;
        String errorBody = null;
        if (failed) {
            io.gemgate.core.requestlog.AttemptRecord last = attemptLog.isEmpty() ? null
                    : attemptLog.get(attemptLog.size() - 1);
            reason = status == 499 ? "client_gone" : last != null && last.reason() != null ? last.reason()
                    : lastVerdict != null ? lastVerdict.kind().label() : "gateway";
            message = gatewayError != null ? gatewayError : lastErrorMessage;
            int cap = gw.config().requestLog().errorBodyBytes();
            errorBody = lastErrorBody == null ? null
                    : io.gemgate.core.requestlog.ErrorText.body(lastErrorBody, 0, lastErrorBody.length, cap);
        }
        io.gemgate.core.tokens.UserToken u = recordUser;
        gw.requestLog().add(new io.gemgate.core.requestlog.RequestRecord(gw.now() - ms, method, path, route,
                protocolOf(route),
                model.name().equals(io.gemgate.core.keys.KeyPool.ANY_MODEL) ? "" : model.name(), u == null ? "" : u.id(),
                u == null ? "" : u.name(), client.clientAddress(), streamed, status, bytesOut, ms,
                firstByteNanos < 0 ? -1 : firstByteNanos / 1_000_000, usedPrompt, usedOutput, reasoningTokens,
                java.util.List.copyOf(attemptLog), reason, message, errorBody, client.tokenHint(),
                true, false));
    }

    /** Sets the Connection header of a response the exchange writes, and notes whether to close after it. */
    protected final void connectionHeader(HttpResponse r) {
        closeAfter |= !client.keepAlive();
        if (closeAfter) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
    }

    /**
     * Writes the 200 head of an answer the exchange streams as SSE of its own making (the translated routes): not
     * cached, not buffered by proxies in between, chunked (HTTP/1.0: ended by the close). It is the answer's first
     * byte ({@link #markFirstByte()}). The caller writes it once.
     */
    protected final void writeSseHead() {
        markFirstByte();
        HttpResponse r = new DefaultHttpResponse(clientVersion, HttpResponseStatus.OK);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_CACHE)
                .set("x-accel-buffering", "no");
        if (clientVersion.equals(HttpVersion.HTTP_1_0)) {
            closeAfter = true;
        } else {
            HttpUtil.setTransferEncodingChunked(r, true);
        }
        connectionHeader(r);
        client.write(r);
    }

    /** The client went away: abandon the upstream call (never pool it mid-answer) and free everything. */
    public final void onClientGone() {
        if (phase == Phase.DONE) {
            return;
        }
        phase = Phase.DONE;
        dropUpstream();
        status = 499;
        cleanup();
        long now = System.nanoTime();
        ended(now);
        client.exchangeDone(true, now);
    }

    /** Releases what the exchange owns; subclasses add theirs and call this. */
    protected void cleanup() {
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

    /** The request's method for the request log and the access log ("-" when unknown). */
    protected String logMethod() {
        return logLine == null ? "-" : logLine.method();
    }

    /** The request's target for the request log and the access log, before {@code forLog}; null when unknown. */
    protected String logTarget() {
        return logLine == null ? null : logLine.target();
    }

    /**
     * The method and target of the client's request as the request log and the access log show them (the target
     * still goes through {@code forLog}).
     */
    public record RequestLine(String method, String target) {
        /** A POST to {@code target}. */
        public static RequestLine post(String target) {
            return new RequestLine("POST", target);
        }
    }
}
