package io.gemgate.core.openai;

import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.ToolCall;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The responses kept for {@code previous_response_id} and {@code GET /v1/responses/{id}} (OpenAI's Responses API
 * reference: "Conversation state"; {@code store} defaults to true there). OpenAI keeps them on its side; the gateway
 * keeps them in this gateway's memory, bounded twice:
 * <ul>
 *   <li>by time: an entry lives {@code ttl} after it was stored, then a request naming it gets 404;</li>
 *   <li>by memory: the sum of the entries' sizes (the conversation's texts, data and arguments, and the response
 *       object) stays under {@code maxBytes}; the least recently used entries go first. One conversation larger than
 *       the whole budget is not kept.</li>
 * </ul>
 * Not in the state file and not shared through Redis: a restart forgets them, and with several gateways behind a
 * balancer a follow-up must reach the gateway that answered (or the client sends the whole input, {@code store:
 * false}, as stateless clients do). Each entry keeps the conversation whole (earlier turns included), so a chain of
 * responses costs memory per turn; the budget bounds it.
 *
 * <p>Entries belong to the caller's token ({@code owner}: the user token's id, "" for the shared token): another
 * token gets 404 for them.
 *
 * <p>Thread-safe (one lock; touched once per Responses request, never on the key selection path).
 */
public final class ResponseStore {
    /** Fixed cost counted per entry and per message besides their strings. */
    private static final int ENTRY_OVERHEAD = 256;
    private static final int MESSAGE_OVERHEAD = 64;

    private final long maxBytes;
    private final long ttlMillis;
    private final Clock clock;
    private final LinkedHashMap<String, Entry> map = new LinkedHashMap<>(64, 0.75f, true);
    /** Output item id ({@code msg_}, {@code fc_}, {@code rs_}) → the id of the response that holds it. */
    private final java.util.HashMap<String, String> itemOwners = new java.util.HashMap<>();
    private long bytes;

    /**
     * One stored response.
     *
     * @param items its output items as conversation messages by item id (null for a reasoning item), for
     *              {@code item_reference}
     */
    record Entry(String owner, List<Message> conversation, Map<String, Message> items, byte[] response,
                 long expiresAt, long bytes) {
    }

    /** A stored output item: its message (null: nothing for Gemini) and the response that holds it. */
    record Item(String responseId, Message message) {
    }

    /**
     * @param maxBytes most bytes kept (estimated); 0 keeps nothing (every {@code previous_response_id} is unknown)
     * @param ttl      how long an entry is kept
     * @param clock    time source
     */
    public ResponseStore(long maxBytes, Duration ttl, Clock clock) {
        if (maxBytes < 0) {
            throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: >= 0)");
        }
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("ttl: " + ttl + " (expected: > 0)");
        }
        this.maxBytes = maxBytes;
        this.ttlMillis = ttl.toMillis();
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Stores a finished response: its conversation (the request's, then the answer's output) and its JSON. */
    public void put(TranslatedResponsesRequest request, ResponsesResult result, String owner) {
        if (!request.store() || maxBytes == 0 || result.output == null) {
            return;
        }
        List<Message> conversation = new ArrayList<>(request.conversation.size() + result.output.size());
        conversation.addAll(request.conversation);
        for (Message m : result.output.values()) {
            if (m != null) {
                conversation.add(m);
            }
        }
        long size = ENTRY_OVERHEAD + result.json().length + size(conversation) + 64L * result.output.size();
        if (size > maxBytes) {
            return;
        }
        Entry e = new Entry(Objects.requireNonNull(owner, "owner"), List.copyOf(conversation),
                java.util.Collections.unmodifiableMap(new LinkedHashMap<>(result.output)), result.json(),
                clock.millis() + ttlMillis, size);
        synchronized (this) {
            Entry old = map.put(request.id(), e);
            if (old != null) {
                forget(old);
            }
            bytes += size;
            for (String itemId : e.items.keySet()) {
                itemOwners.put(itemId, request.id());
            }
            Iterator<Entry> it = map.values().iterator();
            while (bytes > maxBytes && it.hasNext()) {
                Entry eldest = it.next();
                it.remove();
                forget(eldest);
            }
        }
    }

    /** Drops what an entry no longer in the map holds: its bytes and its item ids. Under the lock. */
    private void forget(Entry e) {
        bytes -= e.bytes;
        for (String itemId : e.items.keySet()) {
            itemOwners.remove(itemId);
        }
    }

    /** The stored output item {@code itemId} (any owner: the caller checks), or null when unknown or expired. */
    Item item(String itemId) {
        synchronized (this) {
            String responseId = itemOwners.get(itemId);
            if (responseId == null) {
                return null;
            }
            Entry e = get(responseId, null);
            return e == null ? null : new Item(responseId, e.items.get(itemId));
        }
    }

    /** The live entry of {@code id} for {@code owner}, or null (unknown, expired, another token's). */
    Entry get(String id, String owner) {
        synchronized (this) {
            Entry e = map.get(id);
            if (e == null) {
                return null;
            }
            if (clock.millis() >= e.expiresAt) {
                map.remove(id);
                forget(e);
                return null;
            }
            return owner == null || e.owner.equals(owner) ? e : null;
        }
    }

    /** The stored response object's JSON, or null when the caller has none of that id. */
    public byte[] response(String id, String owner) {
        Entry e = get(id, Objects.requireNonNull(owner, "owner"));
        return e == null ? null : e.response;
    }

    /** Whether {@code owner} may continue from {@code id} (it is stored, live and theirs). */
    public boolean holds(String id, String owner) {
        return get(id, Objects.requireNonNull(owner, "owner")) != null;
    }

    /** Forgets the caller's response {@code id}; false when the caller had none of that id. */
    public boolean delete(String id, String owner) {
        synchronized (this) {
            Entry e = get(id, Objects.requireNonNull(owner, "owner"));
            if (e == null) {
                return false;
            }
            map.remove(id);
            forget(e);
            return true;
        }
    }

    /** The answer to {@code DELETE /v1/responses/{id}}: {@code {"id","object":"response","deleted":true}}. */
    public static byte[] deleted(String id) {
        com.fasterxml.jackson.core.util.ByteArrayBuilder out = new com.fasterxml.jackson.core.util.ByteArrayBuilder(96);
        try (com.fasterxml.jackson.core.JsonGenerator g = Json.generator(out)) {
            g.writeStartObject();
            g.writeStringField("id", id);
            g.writeStringField("object", "response");
            g.writeBooleanField("deleted", true);
            g.writeEndObject();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /** Entries held (expired ones included until they are looked at or pushed out). */
    public synchronized int size() {
        return map.size();
    }

    /** Estimated bytes held. */
    public synchronized long bytes() {
        return bytes;
    }

    /** The 404 of an unknown, expired or foreign {@code previous_response_id}, in OpenAI's wording. */
    static OpenAiRequestException notFound(String id, String param) {
        return new OpenAiRequestException(404, param, "Previous response with id '"
                + ResponsesRequestParser.shorten(id) + "' not found.", "previous_response_not_found");
    }

    private static long size(List<Message> conversation) {
        long n = 0;
        for (Message m : conversation) {
            n += MESSAGE_OVERHEAD;
            if (m.parts() != null) {
                for (Part p : m.parts()) {
                    n += 2L * p.value().length() + (p.extra() == null ? 0 : p.extra().length());
                }
            }
            if (m.toolCalls() != null) {
                for (ToolCall c : m.toolCalls()) {
                    n += 2L * (c.name().length() + (c.id() == null ? 0 : c.id().length())
                            + (c.signature() == null ? 0 : c.signature().length()))
                            + 2L * JsonTree.toJson(c.args()).length();
                }
            }
        }
        return n;
    }

    @Override
    public String toString() {
        return "ResponseStore[entries=" + size() + ", bytes=" + bytes() + ", maxBytes=" + maxBytes + "]";
    }

    /** For tests: entries by id. */
    synchronized Map<String, Entry> entries() {
        return Map.copyOf(map);
    }
}
