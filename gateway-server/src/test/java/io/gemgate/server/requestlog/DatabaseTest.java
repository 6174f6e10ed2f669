package io.gemgate.server.requestlog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.core.config.ConfigException;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** {@code GEMGATE_DATABASE_URL} as the request log reads it: the forms it accepts, and its password kept hidden. */
class DatabaseTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            postgres://gg:s3cret@db.example.com:6543/log              | postgresql db.example.com:6543/log
            postgresql://gg:s3cret@db.example.com/log?sslmode=require | postgresql db.example.com:5432/log
            jdbc:postgresql://db.example.com:5433/log?user=gg&password=s3cret | postgresql db.example.com:5433/log
            postgres://gg:s3cret@[::1]:5432/log                        | postgresql [::1]:5432/log
            """)
    void postgresUrlsAreNamedByHostAndDatabaseNeverByPassword(String url, String shown) {
        Database db = Database.postgres(url);
        assertThat(db.kind()).isEqualTo(Database.Kind.POSTGRESQL);
        assertThat(db.toString()).isEqualTo(shown).doesNotContain("s3cret");
    }

    @Test
    void aUrlWithoutHostIsRefusedWithoutItsPassword() {
        assertThatThrownBy(() -> Database.postgres("postgres:///log?password=s3cret"))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("GEMGATE_DATABASE_URL: no host")
                .hasMessageNotContaining("s3cret");
    }

    @Test
    void theEmbeddedDatabaseIsASqliteFile() {
        Database db = Database.sqlite(Path.of("/var/lib/gemgate/requests.db"));
        assertThat(db.kind()).isEqualTo(Database.Kind.SQLITE);
        assertThat(db.toString()).isEqualTo("sqlite /var/lib/gemgate/requests.db");
    }
}
