package io.gemgate.testing;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.concurrent.GlobalEventExecutor;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static java.util.Objects.requireNonNull;

/**
 * A fake Gemini REST server on loopback for integration tests: HTTP/1.1 keep-alive, plain or TLS, port chosen free.
 *
 * <p><b>Keys.</b> A request's key is its {@code x-goog-api-key} header, else its {@code ?key=} query parameter,
 * else {@code ""}. Each key has a queue of scripted {@link Behavior}s ({@link #script}); each request consumes one.
 * With the queue empty the key's {@link #always} behavior answers, else the default: {@link Behavior#noKey()} for
 * {@code ""}, {@link Behavior#ok()} for any other key.
 *
 * <p><b>Default answers</b> ({@link Behavior#ok()}), under any of {@code /v1beta}, {@code /v1}, {@code /v1alpha}:
 * <ul>
 *   <li>POST {@code /models/{m}:generateContent}: text {@code "ok"}, finishReason STOP, usage 7 + 3 = 10,
 *       {@code modelVersion} m, a fresh {@code responseId};</li>
 *   <li>POST {@code /models/{m}:streamGenerateContent?alt=sse}: three SSE events with deltas {@code "Hel"},
 *       {@code "lo"}, {@code "!"}, each flushed on its own, cumulative usage (last: 7 + 3 = 10) and finishReason STOP
 *       on the last; without {@code alt=sse} the same three objects as a chunked JSON array
 *       {@code [{..},\r\n{..},\r\n{..}]};</li>
 *   <li>POST {@code /models/{m}:generateContent} with {@code -image} in m: {@link #imageEvent} (text, a thought
 *       image, the image); POST {@code :predict} (Imagen): {@code parameters.sampleCount} PNG predictions;</li>
 *   <li>POST {@code :countTokens} → {@code {"totalTokens":7}}; {@code :embedContent} →
 *       {@code {"embedding":{"values":[0.1,0.2,0.3]}}}; {@code :batchEmbedContents} → one embedding per element of
 *       the request's {@code requests} array;</li>
 *   <li>GET {@code /models} → gemini-2.5-flash, gemini-2.5-pro, gemini-embedding-001; GET {@code /models/{id}} → one
 *       of them or 404 NOT_FOUND;</li>
 *   <li>files (resumable and multipart uploads under {@code /upload/v1beta/files}, GET, DELETE, list),
 *       cachedContents (create, GET, PATCH, DELETE, list), {@code :batchGenerateContent} and batches, fileSearchStores
 *       and uploads into them: kept per Cloud project, see {@link FakeResources} and {@link #project};</li>
 *   <li>anything else → 200 {@code {"echo":{"method":"..","path":".."}}}, so pass-through can be asserted.</li>
 * </ul>
 *
 * <p><b>Threading.</b> Scripts, recordings and counters may be used from any thread while the server runs; answers
 * are written on the connection's event loop, which nothing here blocks. Pipelined requests on one connection are
 * answered in order.
 */
public final class FakeGemini implements AutoCloseable {

    private static final int MAX_REQUEST_BYTES = 16 * 1024 * 1024;
    private static final Pattern VERSIONED = Pattern.compile("^/(v1|v1beta|v1alpha)(/.*)$");
    private static final Pattern MODEL_CALL = Pattern.compile("^/models/([^/:]+):([A-Za-z]+)$");
    private static final Pattern MODEL_GET = Pattern.compile("^/models/([^/:]+)$");
    private static final Map<String, String> MODELS = models();
    private static final JsonFactory JSON = new JsonFactory();
    private static final Behavior OK = Behavior.ok();
    private static final Behavior NO_KEY = Behavior.noKey();

    private final boolean tls;
    private final X509Certificate certificate;
    private final EventLoopGroup group;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final ExecutorService offLoop = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fake-gemini-offloop");
        t.setDaemon(true);
        return t;
    });
    private final Channel serverChannel;
    private final AtomicLong responseIds = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Guards every field below; notified on each change so the await* methods can wait on it. */
    private final Object lock = new Object();
    private final List<RecordedRequest> recorded = new ArrayList<>();
    private final Map<String, Deque<Behavior>> scripts = new HashMap<>();
    private final Map<String, Behavior> fallbacks = new HashMap<>();
    private final Map<String, Behavior> fromRemote = new HashMap<>();
    private int openConnections;
    private int cancelledStreams;
    private final FakeResources resources = new FakeResources(this);

    @SuppressWarnings("deprecation") // SelfSignedCertificate: its successor, netty-pkitesting, is not on our classpath
    private FakeGemini(boolean tls) {
        this.tls = tls;
        SslContext serverSsl = null;
        if (tls) {
            try {
                SelfSignedCertificate ssc = new SelfSignedCertificate("localhost");
                certificate = ssc.cert();
                serverSsl = SslContextBuilder.forServer(ssc.key(), ssc.cert()).build();
                ssc.delete();
            } catch (GeneralSecurityException | IOException e) {
                throw new IllegalStateException("cannot create the self-signed certificate", e);
            }
        } else {
            certificate = null;
        }
        SslContext ssl = serverSsl;
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        try {
            serverChannel = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            connections.add(ch);
                            ChannelPipeline p = ch.pipeline();
                            if (ssl != null) {
                                p.addLast("ssl", ssl.newHandler(ch.alloc()));
                            }
                            p.addLast("codec", new HttpServerCodec())
                                    .addLast("aggregator", new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                    .addLast("fake", new ConnectionHandler());
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
        } catch (RuntimeException e) {
            group.shutdownGracefully(0, 5, TimeUnit.SECONDS);
            offLoop.shutdownNow();
            throw e;
        }
    }

    /** Starts a plain-HTTP fake on 127.0.0.1 and a free port. */
    public static FakeGemini start() {
        return new FakeGemini(false);
    }

    /**
     * Starts an HTTPS fake on 127.0.0.1 and a free port, with a fresh self-signed certificate for CN=localhost
     * (netty's {@link SelfSignedCertificate}; netty-pkitesting is not in netty-all). Connect to host
     * {@code localhost} (see {@link #baseUrl()}) so hostname verification passes, trusting {@link #certificate()}.
     */
    public static FakeGemini startTls() {
        return new FakeGemini(true);
    }

    /** {@code "http://127.0.0.1:PORT"} or, for TLS, {@code "https://localhost:PORT"}; no trailing slash. */
    public String baseUrl() {
        return (tls ? "https://" : "http://") + host() + ':' + port();
    }

    /** The host to connect to: {@code "localhost"} for TLS (matches the certificate), else {@code "127.0.0.1"}. */
    public String host() {
        return tls ? "localhost" : "127.0.0.1";
    }

    /** The bound port. */
    public int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Whether this fake speaks TLS. */
    public boolean isTls() {
        return tls;
    }

    /** The self-signed server certificate. @throws IllegalStateException if started without TLS */
    public X509Certificate certificate() {
        if (!tls) {
            throw new IllegalStateException("started without TLS");
        }
        return certificate;
    }

    /** A netty client context trusting only {@link #certificate()}. @throws IllegalStateException without TLS */
    public SslContext clientTrust() {
        try {
            return SslContextBuilder.forClient().trustManager(certificate()).build();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A JDK client context (for {@code java.net.http.HttpClient}) trusting only {@link #certificate()}. */
    public SSLContext clientSslContext() {
        try {
            KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
            trust.load(null, null);
            trust.setCertificateEntry("fake-gemini", certificate());
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---- scripting ----

    /** Appends {@code behaviors} to {@code key}'s queue; each answers (and is consumed by) one request. */
    public FakeGemini script(String key, Behavior... behaviors) {
        requireNonNull(key, "key");
        synchronized (lock) {
            Deque<Behavior> queue = scripts.computeIfAbsent(key, k -> new ArrayDeque<>());
            for (Behavior b : behaviors) {
                queue.add(requireNonNull(b, "behaviors[i]"));
            }
        }
        return this;
    }

    /** Sets the behavior answering {@code key}'s requests whenever its script queue is empty. */
    public FakeGemini always(String key, Behavior behavior) {
        requireNonNull(key, "key");
        requireNonNull(behavior, "behavior");
        synchronized (lock) {
            fallbacks.put(key, behavior);
        }
        return this;
    }

    // ---- projects and resources ----

    /**
     * Puts {@code key} in Cloud project {@code project} (by default each key is a project of its own): keys of one
     * project see each other's files, caches, batches, stores and upload sessions; keys of others get Google's 403/404.
     */
    public FakeGemini project(String key, String project) {
        resources.project(requireNonNull(key, "key"), requireNonNull(project, "project"));
        return this;
    }

    /** The project {@code key} belongs to. */
    public String projectOf(String key) {
        return resources.projectOf(key);
    }

    /**
     * The names ({@code files/abc}) of the live resources of {@code kind} ({@code files}, {@code cachedContents},
     * {@code batches}, {@code fileSearchStores}) that {@code key}'s project holds.
     */
    public List<String> resources(String kind, String key) {
        return resources.names(kind, resources.projectOf(key));
    }

    /** Creates a file held by {@code key}'s project, as if uploaded without the gateway; returns its name. */
    public String createFile(String key, String mimeType) {
        return resources.createFile(resources.projectOf(key), mimeType);
    }

    /** Clears scripts, {@code always} behaviors, recorded requests and the cancelled-stream count. */
    /**
     * Answers every request that comes from {@code remoteHost} (a proxy's outgoing address, such as
     * {@code "127.0.0.2"}) with {@code behavior}, whatever its key, until {@link #reset()} or
     * {@code fromRemote(host, null)}. Wins over the per-key scripts: Google judges an exit by its address.
     */
    public FakeGemini fromRemote(String remoteHost, Behavior behavior) {
        synchronized (lock) {
            if (behavior == null) {
                fromRemote.remove(remoteHost);
            } else {
                fromRemote.put(remoteHost, behavior);
            }
        }
        return this;
    }

    public void reset() {
        synchronized (lock) {
            scripts.clear();
            fallbacks.clear();
            fromRemote.clear();
            recorded.clear();
            cancelledStreams = 0;
            lock.notifyAll();
        }
    }

    // ---- recording ----

    /** Snapshot of every request received so far, in arrival order. */
    public List<RecordedRequest> requests() {
        synchronized (lock) {
            return List.copyOf(recorded);
        }
    }

    /** The most recent request, or {@code null} if none. */
    public RecordedRequest lastRequest() {
        synchronized (lock) {
            return recorded.isEmpty() ? null : recorded.get(recorded.size() - 1);
        }
    }

    /** The key of every request so far, in arrival order ({@code ""} for none). */
    public List<String> keysUsed() {
        return requests().stream().map(RecordedRequest::key).toList();
    }

    /** Number of requests received so far. */
    public int requestCount() {
        synchronized (lock) {
            return recorded.size();
        }
    }

    /** Number of requests received so far with {@code key}. */
    public int requestCount(String key) {
        synchronized (lock) {
            return (int) recorded.stream().filter(r -> r.key().equals(key)).count();
        }
    }

    /** Waits until at least {@code n} requests arrived; {@code false} on timeout. */
    public boolean awaitRequestCount(int n, Duration timeout) {
        return await(() -> recorded.size() >= n, timeout);
    }

    /** Waits until at least {@code n} requests arrived and returns them. @throws AssertionError on timeout */
    public List<RecordedRequest> awaitRequests(int n, Duration timeout) {
        if (!awaitRequestCount(n, timeout)) {
            throw new AssertionError("expected " + n + " requests within " + timeout + ", got " + requests());
        }
        return requests();
    }

    /** Connections currently open to the fake. */
    public int openConnections() {
        synchronized (lock) {
            return openConnections;
        }
    }

    /** Waits until no connection is open (e.g. to prove a client abort closed the upstream call). */
    public boolean awaitConnectionsClosed(Duration timeout) {
        return await(() -> openConnections == 0, timeout);
    }

    /**
     * Streamed responses whose connection closed before the fake finished sending them (client or proxy went away).
     * Streams the fake cuts itself ({@link Behavior#dropMidStream}) do not count.
     */
    public int cancelledStreams() {
        synchronized (lock) {
            return cancelledStreams;
        }
    }

    /** Waits until {@link #cancelledStreams()} is at least {@code n}; {@code false} on timeout. */
    public boolean awaitCancelledStreams(int n, Duration timeout) {
        return await(() -> cancelledStreams >= n, timeout);
    }

    // ---- stream event helpers ----

    /** A stream chunk with one text delta, no finishReason and no usage, e.g. for {@link Behavior#stream}. */
    public static String textEvent(String text) {
        return event(Behavior.DEFAULT_MODEL, "fake-stream", text, null, -1, -1);
    }

    /** A last stream chunk: text delta, {@code finishReason}, usage prompt + candidates = total. */
    public static String finishEvent(String text, String finishReason, int prompt, int candidates) {
        return event(Behavior.DEFAULT_MODEL, "fake-stream", text, requireNonNull(finishReason, "finishReason"),
                prompt, candidates);
    }

    /**
     * A {@code functionCall} part, as Gemini writes it: {@code {"functionCall":{"name","args"},"thoughtSignature"}}
     * (the signature is a sibling of {@code functionCall}, on the part; omitted when null). For
     * {@link #partsEvent}.
     *
     * @param argsJson the {@code args} object as JSON
     */
    public static String functionCallPart(String name, String argsJson, String thoughtSignature) {
        StringBuilder sb = new StringBuilder("{\"functionCall\":{\"name\":").append(quote(requireNonNull(name, "name")))
                .append(",\"args\":").append(requireNonNull(argsJson, "argsJson")).append('}');
        if (thoughtSignature != null) {
            sb.append(",\"thoughtSignature\":").append(quote(thoughtSignature));
        }
        return sb.append('}').toString();
    }

    /** A thought summary part, {@code {"text":..,"thought":true}}, as sent with {@code includeThoughts}. */
    public static String thoughtPart(String thought) {
        return "{\"text\":" + quote(requireNonNull(thought, "thought")) + ",\"thought\":true}";
    }

    /** A plain text part, {@code {"text":..}}. */
    public static String textPart(String text) {
        return "{\"text\":" + quote(requireNonNull(text, "text")) + "}";
    }

    /**
     * A GenerateContentResponse with one candidate (index 0) made of {@code partJsons}: a whole
     * {@code generateContent} answer (with {@link Behavior#status}{@code (200, ..)}) or one stream event (with
     * {@link Behavior#stream}).
     *
     * @param finishReason the candidate's finishReason, or null for none (a stream event before the last)
     * @param prompt       promptTokenCount, or -1 for no usageMetadata
     * @param candidates   candidatesTokenCount
     * @param thoughts     thoughtsTokenCount, included when above 0; totalTokenCount is the sum of the three
     */
    public static String partsEvent(List<String> partJsons, String finishReason, int prompt, int candidates,
                                    int thoughts) {
        StringBuilder sb = new StringBuilder("{\"candidates\":[{\"content\":{\"parts\":[")
                .append(String.join(",", partJsons)).append("],\"role\":\"model\"}");
        if (finishReason != null) {
            sb.append(",\"finishReason\":").append(quote(finishReason));
        }
        sb.append(",\"index\":0}]");
        if (prompt >= 0) {
            sb.append(",\"usageMetadata\":{\"promptTokenCount\":").append(prompt)
                    .append(",\"candidatesTokenCount\":").append(candidates);
            if (thoughts > 0) {
                sb.append(",\"thoughtsTokenCount\":").append(thoughts);
            }
            sb.append(",\"totalTokenCount\":").append(prompt + candidates + Math.max(0, thoughts)).append('}');
        }
        return sb.append(",\"modelVersion\":").append(quote(Behavior.DEFAULT_MODEL))
                .append(",\"responseId\":\"fake-parts\"}").toString();
    }

    /** Stops the server and closes every connection; waits at most about 5 s. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        serverChannel.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        connections.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        offLoop.shutdownNow();
        group.shutdownGracefully(0, 5, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    @Override
    public String toString() {
        return "FakeGemini[" + baseUrl() + "]";
    }

    // ---- internals ----

    void offLoop(Runnable task) {
        if (!offLoop.isShutdown()) {
            offLoop.execute(task);
        }
    }

    void streamCancelled() {
        synchronized (lock) {
            cancelledStreams++;
            lock.notifyAll();
        }
    }

    private void connectionsChanged(int delta) {
        synchronized (lock) {
            openConnections += delta;
            lock.notifyAll();
        }
    }

    /** Records {@code request} and picks its behavior in one step, so scripts are consumed in arrival order. */
    private Behavior record(RecordedRequest request) {
        synchronized (lock) {
            recorded.add(request);
            lock.notifyAll();
            Behavior b = fromRemote.get(request.remoteHost());
            if (b != null) {
                return b;
            }
            Deque<Behavior> queue = scripts.get(request.key());
            b = queue != null ? queue.poll() : null;
            if (b == null) {
                b = fallbacks.get(request.key());
            }
            return b != null ? b : request.key().isEmpty() ? NO_KEY : OK;
        }
    }

    private boolean await(BooleanSupplier condition, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (lock) {
            while (!condition.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(lock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    /** The default answer for the request's path ({@link Behavior#ok()}). Runs on the event loop. */
    void answerPath(Exchange ex) {
        RecordedRequest r = ex.request;
        if (resources.answer(ex, r.path())) {
            return;
        }
        Matcher versioned = VERSIONED.matcher(r.path());
        if (versioned.matches() && answerApi(ex, versioned.group(1), versioned.group(2))) {
            return;
        }
        ex.sendJson(200, "{\"echo\":{\"method\":" + quote(r.method()) + ",\"path\":" + quote(r.path()) + "}}");
    }

    private boolean answerApi(Exchange ex, String version, String rest) {
        RecordedRequest r = ex.request;
        Matcher call = MODEL_CALL.matcher(rest);
        if (r.method().equals("POST") && call.matches()) {
            String model = call.group(1);
            switch (call.group(2)) {
                case "generateContent" -> ex.sendJson(200, model.contains("-image")
                        ? imageEvent(model, nextResponseId()) : event(model, nextResponseId(), "ok", "STOP", 7, 3));
                case "predict" -> ex.sendJson(200, predictions(r.body()));
                case "streamGenerateContent" -> streamDefault(ex, model, "sse".equals(r.queryParam("alt")));
                case "countTokens" -> ex.sendJson(200, "{\"totalTokens\":7}");
                case "embedContent" -> ex.sendJson(200, "{\"embedding\":{\"values\":[0.1,0.2,0.3]}}");
                case "batchEmbedContents" -> batchEmbed(ex);
                default -> {
                    return false;
                }
            }
            return true;
        }
        if (r.method().equals("GET")) {
            if (rest.equals("/models")) {
                ex.sendJson(200, "{\"models\":[" + String.join(",", MODELS.values()) + "]}");
                return true;
            }
            Matcher get = MODEL_GET.matcher(rest);
            if (get.matches()) {
                String model = MODELS.get(get.group(1));
                ex.sendJson(model != null ? 200 : 404, model != null ? model : Behavior.error(404, "NOT_FOUND",
                        "models/" + get.group(1) + " is not found for API version " + version + ", or is not "
                                + "supported for get. Call ListModels to see the list of available models and their "
                                + "supported methods."));
                return true;
            }
        }
        return false;
    }

    private void streamDefault(Exchange ex, String model, boolean sse) {
        String id = nextResponseId();
        List<String> events = List.of(
                event(model, id, "Hel", null, 7, 1),
                event(model, id, "lo", null, 7, 2),
                event(model, id, "!", "STOP", 7, 3));
        ex.startStream(sse ? Exchange.SSE : Exchange.JSON);
        for (int i = 0; i < events.size(); i++) {
            if (sse) {
                ex.sse(events.get(i));
            } else {
                ex.chunk((i == 0 ? "[" : ",\r\n") + events.get(i) + (i == events.size() - 1 ? "]" : ""));
            }
        }
        ex.endStream();
    }

    private static void batchEmbed(Exchange ex) {
        int n = countRequests(ex.request.body());
        if (n < 0) {
            Behavior.badRequest("Invalid JSON payload received. Expected a \"requests\" array.").respond(ex);
            return;
        }
        ex.sendJson(200, "{\"embeddings\":[" + String.join(",",
                Collections.nCopies(n, "{\"values\":[0.1,0.2,0.3]}")) + "]}");
    }

    /** Number of elements of the top-level {@code requests} array, or -1 if there is none. */
    private static int countRequests(String body) {
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return -1;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                if (p.nextToken() == JsonToken.START_ARRAY && name.equals("requests")) {
                    int n = 0;
                    while (p.nextToken() != JsonToken.END_ARRAY) {
                        n++;
                        p.skipChildren();
                    }
                    return n;
                }
                p.skipChildren();
            }
            return -1;
        } catch (IOException e) {
            return -1;
        }
    }

    private String nextResponseId() {
        return "fake-" + responseIds.incrementAndGet();
    }

    /** A GenerateContentResponse with one text part; usage omitted when {@code prompt < 0}. */
    private static String event(String model, String responseId, String text, String finishReason, int prompt,
                                int candidates) {
        StringBuilder sb = new StringBuilder("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":")
                .append(quote(text)).append("}],\"role\":\"model\"}");
        if (finishReason != null) {
            sb.append(",\"finishReason\":").append(quote(finishReason));
        }
        sb.append(",\"index\":0}]");
        if (prompt >= 0) {
            sb.append(",\"usageMetadata\":{\"promptTokenCount\":").append(prompt)
                    .append(",\"candidatesTokenCount\":").append(candidates)
                    .append(",\"totalTokenCount\":").append(prompt + candidates).append('}');
        }
        return sb.append(",\"modelVersion\":").append(quote(model))
                .append(",\"responseId\":").append(quote(responseId)).append('}').toString();
    }

    /** A tiny PNG (1x1), base64: what the image answers carry. */
    public static final String PNG_BASE64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
            + "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

    /**
     * A Gemini image model's answer: a text part, a thought image (a draft, as Gemini 3 Pro Image sends), then the
     * image as {@code inlineData}, usage 7 + 1290.
     */
    public static String imageEvent(String model, String responseId) {
        return "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Here is your image\"},"
                + "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"ZHJhZnQ=\"},\"thought\":true},"
                + "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":" + quote(PNG_BASE64) + "}}],"
                + "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{"
                + "\"promptTokenCount\":7,\"candidatesTokenCount\":1290,\"totalTokenCount\":1297},"
                + "\"modelVersion\":" + quote(model) + ",\"responseId\":" + quote(responseId) + "}";
    }

    /** Imagen's {@code :predict} answer: {@code parameters.sampleCount} images (default 1), PNG. */
    private static String predictions(String body) {
        java.util.regex.Matcher m = Pattern.compile("\"sampleCount\"\\s*:\\s*(\\d+)").matcher(body);
        int n = m.find() ? Integer.parseInt(m.group(1)) : 1;
        return "{\"predictions\":[" + String.join(",", Collections.nCopies(n,
                "{\"mimeType\":\"image/png\",\"bytesBase64Encoded\":" + quote(PNG_BASE64) + "}")) + "]}";
    }

    private static Map<String, String> models() {
        String generate = "\"generateContent\",\"countTokens\",\"createCachedContent\",\"batchGenerateContent\"";
        Map<String, String> m = new LinkedHashMap<>();
        m.put("gemini-2.5-flash", model("gemini-2.5-flash", "Gemini 2.5 Flash", 1048576, 65536, generate, true));
        m.put("gemini-2.5-pro", model("gemini-2.5-pro", "Gemini 2.5 Pro", 1048576, 65536, generate, true));
        m.put("gemini-embedding-001", model("gemini-embedding-001", "Gemini Embedding 001", 2048, 1,
                "\"embedContent\",\"countTextTokens\",\"countTokens\",\"asyncBatchEmbedContent\"", false));
        return Collections.unmodifiableMap(m);
    }

    private static String model(String id, String displayName, int in, int out, String methods, boolean chat) {
        return "{\"name\":\"models/" + id + "\",\"version\":\"001\",\"displayName\":\"" + displayName
                + "\",\"description\":\"Fake " + displayName + "\",\"inputTokenLimit\":" + in
                + ",\"outputTokenLimit\":" + out + ",\"supportedGenerationMethods\":[" + methods + "]"
                + (chat ? ",\"temperature\":1,\"topP\":0.95,\"topK\":64,\"maxTemperature\":2,\"thinking\":true" : "")
                + "}";
    }

    /** {@code s} as a JSON string literal. */
    static String quote(String s) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
    }

    private record Pending(Exchange exchange, Behavior behavior) {
    }

    /**
     * Records each request, picks its behavior and answers pipelined requests one at a time, in order. Terminal
     * handler: {@link SimpleChannelInboundHandler} releases each request after {@link #channelRead0}.
     */
    private final class ConnectionHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

        private final Deque<Pending> pending = new ArrayDeque<>();
        private boolean busy;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            connectionsChanged(1);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            connectionsChanged(-1);
            pending.clear();
            ctx.fireChannelInactive();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            RecordedRequest recorded = toRecord(ctx, req);
            if (req.decoderResult().isFailure()) {
                // garbage, not a request: neither recorded nor consuming a script
                new Exchange(ctx, recorded, FakeGemini.this, false, () -> { })
                        .sendJson(400, Behavior.error(400, "INVALID_ARGUMENT", "Malformed HTTP request."));
                return;
            }
            Behavior behavior = record(recorded);
            pending.add(new Pending(new Exchange(ctx, recorded, FakeGemini.this, HttpUtil.isKeepAlive(req),
                    this::next), behavior));
            if (!busy) {
                next();
            }
        }

        /** Answers the next pending request, if any; called again by each exchange when it completes. */
        private void next() {
            Pending next = pending.poll();
            busy = next != null;
            if (next != null) {
                next.behavior().respond(next.exchange());
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a test fake: a broken connection is the client's business, nothing to log
        }

        private RecordedRequest toRecord(ChannelHandlerContext ctx, FullHttpRequest req) {
            Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            for (String name : req.headers().names()) {
                headers.put(name, List.copyOf(req.headers().getAll(name)));
            }
            QueryStringDecoder uri = new QueryStringDecoder(req.uri());
            String key = req.headers().get("x-goog-api-key");
            if (key == null || key.isEmpty()) {
                List<String> param = uri.parameters().get("key");
                key = param == null || param.isEmpty() ? "" : param.get(0);
            }
            return new RecordedRequest(req.method().name(), req.uri(), uri.path(),
                    Collections.unmodifiableMap(headers), req.content().toString(StandardCharsets.UTF_8), key,
                    Instant.now(), ctx.channel().id().asShortText(),
                    ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress().getHostAddress());
        }
    }
}
