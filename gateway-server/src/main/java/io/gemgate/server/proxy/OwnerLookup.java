package io.gemgate.server.proxy;

import io.gemgate.core.affinity.AffinityMap;
import io.gemgate.core.affinity.AnswerFields;
import io.gemgate.core.keys.ApiKey;
import io.gemgate.server.GatewayContext;
import io.gemgate.server.upstream.UpstreamGet;
import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Finds which key holds a resource created outside Gemgate (or before it recorded them; README, key affinity, "Unknown
 * holder"): a cheap metadata call per key ({@code GET /v1beta/files/abc}, {@code /v1beta/cachedContents/xyz} ...; never
 * a generation), one key at a time, one key per project (keys of a project see the same resources), at most
 * {@code affinity.lookupMaxKeys} keys. A 200 names the holder, which is recorded in the {@link AffinityMap} with the
 * resource's end from the answer; a 403 or 404 means "not this project's"; anything else (429, 5xx, no answer) leaves
 * the question open for that key.
 *
 * <p>Runs on one event loop, the requesting connection's; the calls go through the shared upstream pool and are not
 * counted as requests of the keys. Not thread-safe: one instance per lookup.
 */
final class OwnerLookup implements UpstreamGet.Callback {
    private static final Logger log = LogManager.getLogger(OwnerLookup.class);
    /** A negative answer stands this long, so that a burst of requests for a missing file asks each key once. */
    static final long MISS_MILLIS = 60_000;
    private static final long CALL_TIMEOUT_MILLIS = 10_000;
    private static final int MAX_BODY = 64 * 1024;
    /** Files live 48 hours (Gemini API Files reference); the fallback when an answer gives no end. */
    static final long FILE_LIFE_MILLIS = 48 * 3_600_000L;

    /**
     * What the lookup found.
     *
     * @param found    the resources it found a holder for (recorded)
     * @param missing  the resources no key asked holds
     * @param asked    keys asked
     * @param unsure   true when some key could not answer (so "missing" may be wrong)
     */
    record Result(List<AffinityMap.Entry> found, List<String> missing, int asked, boolean unsure) {
    }

    private final GatewayContext gw;
    private final EventLoop loop;
    private final List<String> names;
    private final Consumer<Result> done;
    private final String owner;
    private final List<AffinityMap.Entry> found = new ArrayList<>();
    private final List<String> missing = new ArrayList<>();
    /** Projects that answered "not ours" for the resource being looked up. */
    private final Set<String> answered = new HashSet<>();
    private int nameIndex;
    private List<ApiKey> candidates;
    private int keyIndex;
    private int asked;
    /** Some key could not answer for the resource being looked up. */
    private boolean unsure;
    /** A resource was not found while some key could not answer. */
    private boolean unsureMissing;

    /** The key of the call in flight. */
    private ApiKey key;

    private OwnerLookup(GatewayContext gw, EventLoop loop, List<String> names, String owner, Consumer<Result> done) {
        this.gw = gw;
        this.loop = loop;
        this.names = names;
        this.owner = owner;
        this.done = done;
    }

    /**
     * Looks up the holders of {@code names} (none of them recorded), then calls {@code done} on {@code loop}.
     *
     * @param owner the user token id of the request, or "": recorded with what is found
     */
    static void find(GatewayContext gw, EventLoop loop, List<String> names, String owner, Consumer<Result> done) {
        OwnerLookup l = new OwnerLookup(gw, loop, names, owner, done);
        if (loop.inEventLoop()) {
            l.nextName();
        } else {
            loop.execute(l::nextName);
        }
    }

    private void nextName() {
        if (nameIndex >= names.size()) {
            done.accept(new Result(found, missing, asked, unsureMissing));
            return;
        }
        String name = names.get(nameIndex);
        Long missUntil = gw.affinityMisses().get(name);
        if (missUntil != null && missUntil > gw.now()) {
            missing.add(name);
            nameIndex++;
            nextName();
            return;
        }
        gw.affinityStats().lookup();
        unsure = false;
        candidates = candidates();
        keyIndex = 0;
        nextKey();
    }

    /**
     * Keys not removed, at most {@code affinity.lookupMaxKeys}; a key whose project (label) already answered for this resource is
     * skipped when its turn comes ({@link #answered}).
     */
    private List<ApiKey> candidates() {
        answered.clear();
        List<ApiKey> out = new ArrayList<>();
        for (ApiKey k : gw.pool().keys()) {
            if (!k.isRemoved()) {
                out.add(k);
                if (out.size() >= gw.config().affinity().lookupMaxKeys()) {
                    break;
                }
            }
        }
        return out;
    }

    private void nextKey() {
        String name = names.get(nameIndex);
        AffinityMap.Entry known = gw.affinity().get(name); // recorded meanwhile (another request, another gateway)
        if (known != null) {
            found.add(known);
            nameIndex++;
            nextName();
            return;
        }
        if (keyIndex >= candidates.size()) {
            if (unsure) {
                unsureMissing = true;
            } else {
                gw.affinityMisses().put(name, gw.now() + MISS_MILLIS);
            }
            missing.add(name);
            nameIndex++;
            nextName();
            return;
        }
        key = candidates.get(keyIndex++);
        if (!key.project().isEmpty() && answered.contains(key.project())) {
            nextKey(); // its project said no already: the same answer
            return;
        }
        asked++;
        gw.affinityStats().lookupCall();
        // Only a 200's body is read: it names the resource's end.
        UpstreamGet.start(gw.upstream(), loop, key, "/v1beta/" + names.get(nameIndex), CALL_TIMEOUT_MILLIS, MAX_BODY,
                s -> s == 200, this);
    }

    @Override
    public void answered(int status, byte[] body, long headMillis, boolean complete) {
        if (!complete) {
            failed("connection closed before an answer");
            return;
        }
        String name = names.get(nameIndex);
        if (status == 200) {
            AnswerFields f = AnswerFields.parse(body, body.length);
            long now = gw.now();
            long expires = f.expiresMillis() > now ? f.expiresMillis()
                    : now + (name.startsWith("files/") ? FILE_LIFE_MILLIS : 7 * 86_400_000L);
            AffinityMap.Entry e = new AffinityMap.Entry(name, key.id(), key.project(), now, expires, owner);
            gw.affinity().record(e);
            gw.affinityMisses().remove(name);
            log.debug("owner lookup: {} is held by key {}", name, key.masked());
            found.add(e);
            nameIndex++;
            nextName();
            return;
        }
        if (status == 403 || status == 404) {
            if (!key.project().isEmpty()) {
                answered.add(key.project());
            }
        } else {
            unsure = true;
            log.debug("owner lookup of {} with key {}: http {}", name, key.masked(), status);
        }
        nextKey();
    }

    @Override
    public void failed(String why) {
        unsure = true;
        log.debug("owner lookup of {} with key {}: {}", names.get(nameIndex), key.masked(), why);
        nextKey();
    }
}
