package io.gemgate.core.affinity;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Which upstream key holds which project-bound resource (README, "Files, cached contents, batches and stores (key
 * affinity)"): Gemini binds a file ({@code files/abc}), a cached content ({@code cachedContents/xyz}), a batch
 * ({@code batches/...}), a file search store ({@code fileSearchStores/...}) and a resumable upload session
 * ({@code upload_id}) to the Cloud project of the key that created it, so a request that references one must go to that
 * key (or a key of the same project).
 *
 * <p>Entries expire with their resource ({@link Entry#expiresMillis}: files 48 hours after creation, caches at their
 * {@code expireTime}, batches a grace after they were last seen, upload sessions after a day) and are removed when
 * the resource is deleted. The map is bounded ({@link #maxEntries}): beyond it, {@link #record} refuses (after dropping
 * expired entries), and the caller answers 503.
 *
 * <p>Changes made here are reported to one {@link Listener} (a shared store publishes them); the {@code apply*}
 * methods load changes from such a store and report nothing.
 *
 * <p>Thread-safe; lookups are one {@link ConcurrentHashMap#get}.
 */
public final class AffinityMap {
    /** Name prefix of upload sessions: {@code upload_id/<id>}. */
    public static final String UPLOAD = "upload_id/";
    /** Default bound on entries. */
    public static final int DEFAULT_MAX_ENTRIES = 100_000;

    private final ConcurrentHashMap<String, Entry> map = new ConcurrentHashMap<>();
    private final LongSupplier clock;
    private final int maxEntries;
    private volatile Listener listener;
    private volatile boolean dirty;

    /**
     * One resource and its holder.
     *
     * @param name          {@code files/abc}, {@code cachedContents/xyz}, {@code batches/b}, {@code fileSearchStores/s}
     *                      or {@code upload_id/<id>}
     * @param keyId         fingerprint of the key that created it ({@code ApiKey.id()})
     * @param project       that key's project label, or "" when it has none
     * @param createdMillis when it was recorded
     * @param expiresMillis when the entry (and, as far as we know, the resource) ends
     * @param owner         the user token id that created it through the gateway, or "" (shared token)
     * @param meta          what the OpenAI files routes keep about a file ({@code purpose/filename/bytes}), or ""
     */
    public record Entry(String name, String keyId, String project, long createdMillis, long expiresMillis,
                        String owner, String meta) {
        public Entry {
            requireNonNull(name, "name");
            requireNonNull(keyId, "keyId");
            project = project == null ? "" : project;
            owner = owner == null ? "" : owner;
            meta = meta == null ? "" : meta;
        }

        public Entry(String name, String keyId, String project, long createdMillis, long expiresMillis,
                     String owner) {
            this(name, keyId, project, createdMillis, expiresMillis, owner, "");
        }

        /** The kind: {@code files}, {@code cachedContents}, {@code batches}, {@code fileSearchStores}, {@code upload_id}. */
        public String kind() {
            int slash = name.indexOf('/');
            return slash < 0 ? name : name.substring(0, slash);
        }
    }

    /** Told of entries recorded, changed or removed here (not of those applied from a shared store). */
    public interface Listener {
        void recorded(Entry e);

        void removed(String name);
    }

    public AffinityMap(LongSupplier clock, int maxEntries) {
        this.clock = requireNonNull(clock, "clock");
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries: " + maxEntries + " (expected: >= 1)");
        }
        this.maxEntries = maxEntries;
    }

    public int maxEntries() {
        return maxEntries;
    }

    public void listener(Listener l) {
        this.listener = l;
    }

    /**
     * Records (or replaces) an entry.
     *
     * @return false when the map is full of live entries (the caller answers 503); the entry is not recorded
     */
    public boolean record(Entry e) {
        requireNonNull(e, "e");
        if (!map.containsKey(e.name()) && map.size() >= maxEntries) {
            purgeExpired();
            if (map.size() >= maxEntries) {
                return false;
            }
        }
        map.put(e.name(), e);
        dirty = true;
        Listener l = listener;
        if (l != null) {
            l.recorded(e);
        }
        return true;
    }

    /** True when one more entry would not fit (after expired ones are dropped). */
    public boolean isFull() {
        if (map.size() < maxEntries) {
            return false;
        }
        purgeExpired();
        return map.size() >= maxEntries;
    }

    /** The live entry for {@code name}, or null (an expired one is dropped). */
    public Entry get(String name) {
        Entry e = map.get(name);
        if (e != null && e.expiresMillis() <= clock.getAsLong()) {
            if (map.remove(name, e)) {
                dirty = true;
            }
            return null;
        }
        return e;
    }

    /** Changes the end of an entry (a cache's new expireTime); false when there is none. */
    public boolean expires(String name, long expiresMillis) {
        Entry e = get(name);
        if (e == null) {
            return false;
        }
        return record(new Entry(e.name(), e.keyId(), e.project(), e.createdMillis(), expiresMillis, e.owner(),
                e.meta()));
    }

    /** Removes the entry (the resource was deleted). */
    public void remove(String name) {
        if (map.remove(name) != null) {
            dirty = true;
            Listener l = listener;
            if (l != null) {
                l.removed(name);
            }
        }
    }

    /** Loads an entry from a shared store or the state file; reports nothing. */
    public void apply(Entry e) {
        if (e.expiresMillis() > clock.getAsLong() && (map.containsKey(e.name()) || map.size() < maxEntries)
                && !e.equals(map.put(e.name(), e))) {
            dirty = true;
        }
    }

    /** Removes an entry another gateway removed; reports nothing. */
    public void applyRemove(String name) {
        if (map.remove(name) != null) {
            dirty = true;
        }
    }

    /** Drops expired entries; returns how many. */
    public int purgeExpired() {
        long now = clock.getAsLong();
        int[] n = {0};
        map.values().removeIf(e -> {
            if (e.expiresMillis() <= now) {
                n[0]++;
                return true;
            }
            return false;
        });
        if (n[0] > 0) {
            dirty = true;
        }
        return n[0];
    }

    /** Live entries, oldest first. */
    public List<Entry> entries() {
        long now = clock.getAsLong();
        List<Entry> out = new ArrayList<>();
        for (Entry e : map.values()) {
            if (e.expiresMillis() > now) {
                out.add(e);
            }
        }
        out.sort(Comparator.comparingLong(Entry::createdMillis).thenComparing(Entry::name));
        return out;
    }

    /** Live resources (upload sessions excluded) per key fingerprint. */
    public Map<String, Integer> countByKey() {
        long now = clock.getAsLong();
        Map<String, Integer> out = new HashMap<>();
        for (Entry e : map.values()) {
            if (e.expiresMillis() > now && !e.name().startsWith(UPLOAD)) {
                out.merge(e.keyId(), 1, Integer::sum);
            }
        }
        return out;
    }

    public int size() {
        return map.size();
    }

    /** True (once) when something changed since the last call: the state file has something to write. */
    public boolean takeDirty() {
        boolean d = dirty;
        if (d) {
            dirty = false;
        }
        return d;
    }
}
