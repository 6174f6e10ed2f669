package io.gemgate.core.affinity;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class AffinityMapTest {
    private final AtomicLong now = new AtomicLong(1_800_000_000_000L);

    private AffinityMap.Entry entry(String name, String key, long ttl) {
        return new AffinityMap.Entry(name, key, "", now.get(), now.get() + ttl, "");
    }

    @Test
    void entriesExpireWithTheirResourceAndAreRemovedOnDelete() {
        AffinityMap m = new AffinityMap(now::get, 10);
        List<String> events = new ArrayList<>();
        m.listener(new AffinityMap.Listener() {
            @Override
            public void recorded(AffinityMap.Entry e) {
                events.add("+" + e.name());
            }

            @Override
            public void removed(String name) {
                events.add("-" + name);
            }
        });
        assertThat(m.record(entry("files/a", "k1", 1000))).isTrue();
        assertThat(m.record(entry("cachedContents/c", "k1", 5000))).isTrue();
        assertThat(m.get("files/a").keyId()).isEqualTo("k1");
        assertThat(m.countByKey()).containsEntry("k1", 2);
        now.addAndGet(1000);
        assertThat(m.get("files/a")).isNull();
        assertThat(m.expires("cachedContents/c", now.get() + 10)).isTrue();
        m.remove("cachedContents/c");
        assertThat(m.entries()).isEmpty();
        assertThat(events).containsExactly("+files/a", "+cachedContents/c", "+cachedContents/c", "-cachedContents/c");
        assertThat(m.takeDirty()).isTrue();
        assertThat(m.takeDirty()).isFalse();
    }

    @Test
    void isBoundedAndDropsExpiredEntriesBeforeRefusing() {
        AffinityMap m = new AffinityMap(now::get, 2);
        assertThat(m.record(entry("files/a", "k", 10))).isTrue();
        assertThat(m.record(entry("files/b", "k", 1000))).isTrue();
        assertThat(m.isFull()).isTrue();
        assertThat(m.record(entry("files/c", "k", 1000))).isFalse();
        now.addAndGet(10);
        assertThat(m.isFull()).isFalse();
        assertThat(m.record(entry("files/c", "k", 1000))).isTrue();
        assertThat(m.record(entry("files/b", "k2", 1000))).as("replacing needs no room").isTrue();
    }

    @Test
    void appliedEntriesAreNotReportedAndExpiredOnesNotLoaded() {
        AffinityMap m = new AffinityMap(now::get, 10);
        List<String> events = new ArrayList<>();
        m.listener(new AffinityMap.Listener() {
            @Override
            public void recorded(AffinityMap.Entry e) {
                events.add(e.name());
            }

            @Override
            public void removed(String name) {
                events.add(name);
            }
        });
        m.apply(entry("files/a", "k", 100));
        m.apply(entry("files/old", "k", -1));
        m.applyRemove("files/a");
        assertThat(events).isEmpty();
        assertThat(m.size()).isZero();
    }

    @Test
    void pathsSayWhatACallActsOnAndCreates() {
        assertThat(AffinityPaths.resource("/v1beta/files/abc")).isEqualTo("files/abc");
        assertThat(AffinityPaths.resource("/v1/cachedContents/x1")).isEqualTo("cachedContents/x1");
        assertThat(AffinityPaths.resource("/v1beta/batches/b1:cancel")).isEqualTo("batches/b1");
        assertThat(AffinityPaths.resource("/upload/v1beta/fileSearchStores/s:uploadToFileSearchStore"))
                .isEqualTo("fileSearchStores/s");
        assertThat(AffinityPaths.resource("/v1beta/files")).isNull();
        assertThat(AffinityPaths.resource("/v1beta/models/gemini-2.5-flash:generateContent")).isNull();
        assertThat(AffinityPaths.effect("POST", "/upload/v1beta/files")).isEqualTo(AffinityPaths.Effect.UPLOAD);
        assertThat(AffinityPaths.effect("POST", "/upload/v1/files")).isEqualTo(AffinityPaths.Effect.UPLOAD);
        assertThat(AffinityPaths.effect("POST", "/v1beta/cachedContents")).isEqualTo(AffinityPaths.Effect.CREATE_CACHE);
        assertThat(AffinityPaths.effect("POST", "/v1beta/models/m:batchGenerateContent"))
                .isEqualTo(AffinityPaths.Effect.CREATE_BATCH);
        assertThat(AffinityPaths.effect("POST", "/v1beta/fileSearchStores")).isEqualTo(AffinityPaths.Effect.CREATE_STORE);
        assertThat(AffinityPaths.effect("DELETE", "/v1beta/files/a")).isEqualTo(AffinityPaths.Effect.DELETE);
        assertThat(AffinityPaths.effect("PATCH", "/v1beta/cachedContents/a")).isEqualTo(AffinityPaths.Effect.PATCH_CACHE);
        assertThat(AffinityPaths.effect("GET", "/v1beta/batches/b")).isEqualTo(AffinityPaths.Effect.GET_BATCH);
        assertThat(AffinityPaths.effect("POST", "/v1beta/models/m:generateContent")).isEqualTo(AffinityPaths.Effect.NONE);
        assertThat(AffinityPaths.mayReference("POST", "/v1beta/models/m:streamGenerateContent")).isTrue();
        assertThat(AffinityPaths.mayReference("POST", "/v1beta/models/m:countTokens")).isTrue();
        assertThat(AffinityPaths.mayReference("GET", "/v1beta/models")).isFalse();
        assertThat(AffinityPaths.uploadId("upload_id=AB-1&upload_protocol=resumable")).isEqualTo("AB-1");
        assertThat(AffinityPaths.uploadId("alt=json")).isNull();
    }

    @Test
    void answerFieldsNameWhatWasCreated() {
        String upload = "{\"file\":{\"name\":\"files/azucr4\",\"expirationTime\":\"2025-06-26T12:57:41.592657449Z\"}}";
        AnswerFields f = AnswerFields.parse(upload.getBytes(StandardCharsets.UTF_8), upload.length());
        assertThat(f.name()).isEqualTo("files/azucr4");
        assertThat(f.expiresMillis()).isEqualTo(1750942661592L);
        String batch = "{\"name\":\"batches/b1\",\"metadata\":{\"model\":\"models/x\",\"state\":\"BATCH_STATE_SUCCEEDED\","
                + "\"output\":{\"responsesFile\":\"files/batch-out\"}}}";
        AnswerFields b = AnswerFields.parse(batch.getBytes(StandardCharsets.UTF_8), batch.length());
        assertThat(b.name()).isEqualTo("batches/b1");
        assertThat(b.isFinished()).isTrue();
        assertThat(b.resultFiles()).containsExactly("files/batch-out");
        AnswerFields cut = AnswerFields.parse("{\"name\":\"cachedContents/z\",\"expireT".getBytes(StandardCharsets.UTF_8),
                30);
        assertThat(cut.name()).isEqualTo("cachedContents/z");
        assertThat(cut.expiresMillis()).isEqualTo(-1);
    }
}
