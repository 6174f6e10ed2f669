package io.gemgate.server.shared;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.core.config.ConfigException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The forms of {@code GEMGATE_REDIS_URL} (README, "Several gateways"): what each names, and that a bad one never shows
 * its password.
 */
class RedisLinkTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "redis://:s3cret@cache.internal:6380/2                      | cache.internal:6380/2                    | single   | 2",
            "redis://alice:s3cret@10.0.0.5                              | 10.0.0.5:6379/0                          | single   | 0",
            "rediss://alice:s3cret@cache.internal:6390/1                | tls cache.internal:6390/1                | single   | 1",
            "redis-sentinel://:s3cret@s1:26379,s2:26380,s3/3#gemgate    | master 'gemgate' of sentinels s1:26379,s2:26380,s3:26379/3 | sentinel | 3",
            "rediss-sentinel://s1:26379#prod                            | tls master 'prod' of sentinels s1:26379/0 | sentinel | 0",
            "redis://s1:26379?sentinelMasterId=gemgate                  | master 'gemgate' of sentinels s1:26379/0 | sentinel | 0",
            "redis-cluster://alice:s3cret@n1:7000,n2:7001,n3:7002        | cluster n1:7000,n2:7001,n3:7002          | cluster  | 0",
            "rediss-cluster://n1:7000/0                                 | tls cluster n1:7000                      | cluster  | 0",
            "redis-socket:///run/redis/redis.sock                       | /run/redis/redis.sock/0                  | single   | 0",
    })
    void eachFormNamesItsRedisWithoutCredentials(String url, String where, String kind, int database) {
        RedisLink link = RedisLink.parse(url.trim());
        assertThat(link.where()).isEqualTo(where.trim()).doesNotContain("s3cret").doesNotContain("alice");
        assertThat(link.isCluster()).isEqualTo(kind.trim().equals("cluster"));
        assertThat(link.isSentinel()).isEqualTo(kind.trim().equals("sentinel"));
        assertThat(link.database()).isEqualTo(database);
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://:s3cret@host:6379", "redis://:s3cret@", "s3cret", "redis-sentinel://:s3cret@s1:26379",
            "redis-cluster://", "redis-cluster://:s3cret@n1:7000/3", "redis-cluster://n1:7000,,n2:7001",
            "rediss-cluster://:s3cret@:7000"})
    void aBadUrlIsRefusedNamingTheSettingAndNeverItsPassword(String url) {
        assertThatThrownBy(() -> RedisLink.parse(url))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("GEMGATE_REDIS_URL (state.redisUrl): not a Redis URL (expected: ")
                .message().doesNotContain("s3cret");
    }

    @ParameterizedTest
    @CsvSource({"false, gemgate:keys, gemgate:lease:{gemgate:tok_abcdefghijkl}",
            "true, {gemgate:}keys, gemgate:lease:{gemgate:tok_abcdefghijkl}"})
    void inAClusterTheSharedStateIsOneSlotAndEachTokensLeasesAnother(boolean cluster, String keys, String lease) {
        RedisLayout l = new RedisLayout("gemgate:", 0, cluster);
        assertThat(l.addedKeys()).isEqualTo(keys);
        assertThat(l.lease("tok_abcdefghijkl")).isEqualTo(lease);
        assertThat(l.leaseSlots("tok_abcdefghijkl")).isEqualTo(lease + ":slots");
        assertThat(l.channel()).isEqualTo("gemgate:0:events");
    }
}
