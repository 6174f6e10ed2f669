package io.gemgate.core.egress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gemgate.core.keys.KeySpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class ProxySpecTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            http://proxy.corp:3128                 | HTTP   | proxy.corp | 3128 | http://proxy.corp:3128            | proxy.corp:3128
            http://alice:s3cret@proxy.corp:3128    | HTTP   | proxy.corp | 3128 | http://al***:***@proxy.corp:3128  | proxy.corp:3128
            HTTP://Proxy.Corp                      | HTTP   | proxy.corp | 80   | http://proxy.corp:80              | proxy.corp:80
            socks5://10.0.0.7:1080                 | SOCKS5 | 10.0.0.7   | 1080 | socks5://10.0.0.7:1080            | 10.0.0.7:1080
            socks5h://bob:pw@10.0.0.7              | SOCKS5 | 10.0.0.7   | 1080 | socks5://***:***@10.0.0.7:1080    | 10.0.0.7:1080
            socks5://[::1]:1080                    | SOCKS5 | ::1        | 1080 | socks5://[::1]:1080               | [::1]:1080
            """)
    void parses(String url, ProxySpec.Scheme scheme, String host, int port, String masked, String label) {
        ProxySpec p = ProxySpec.parse(url);

        assertThat(p.scheme()).isEqualTo(scheme);
        assertThat(p.host()).isEqualTo(host);
        assertThat(p.port()).isEqualTo(port);
        assertThat(p.masked()).isEqualTo(masked);
        assertThat(p.toString()).isEqualTo(masked);
        assertThat(p.label()).isEqualTo(label);
    }

    @Test
    void percentEncodedCredentialsAreDecodedAndNeverShown() {
        ProxySpec p = ProxySpec.parse("http://corp%5Cjane:p%40ss%3Aword@proxy:8080");

        assertThat(p.username()).isEqualTo("corp\\jane");
        assertThat(p.password()).isEqualTo("p@ss:word");
        assertThat(p.masked() + p + p.id() + p.label()).doesNotContain("p@ss", "jane", "word");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            ftp://user:hunter2@proxy:21         | not a proxy URL
            https://user:hunter2@proxy:443      | https:// proxies (TLS to the proxy) are not supported
            http://user:hunter2@proxy:3128/path | a proxy URL has no path, query or fragment
            http://user@proxy:3128              | proxy credentials are user:pass
            http://user:hunter2@:3128           | not a proxy URL
            proxy:3128                          | not a proxy URL
            """)
    void badUrlsAreRefusedWithoutTheirCredentials(String url, String message) {
        assertThatThrownBy(() -> ProxySpec.parse(url))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith(message)
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void aListDropsBlanksAndDuplicatesAndNamesABadEntryByPosition() {
        assertThat(ProxySpec.parseList(" http://a:1 , ,socks5://b:2,http://u:p@a:1"))
                .extracting(ProxySpec::id).containsExactly("http://a:1", "socks5://b:2");
        assertThatThrownBy(() -> ProxySpec.parseList("http://a:1,gopher://x:secret@b:2"))
                .hasMessageStartingWith("entry 2: ")
                .hasMessageNotContaining("secret");
    }

    @Test
    void aKeySpecNeverPrintsItsProxysPassword() {
        KeySpec k = new KeySpec("AIzaSyTESTxxxxxxxxxxxxxxxxxxxxxxxxx0000", "", 1, "", "http://u:hunter2@p:3128");

        assertThat(k.toString()).doesNotContain("hunter2").doesNotContain("xxxxxxxxxxxx");
        assertThatThrownBy(() -> new KeySpec("AIzaSyTESTx", "", 1, "", "http://u:hunter2@p:3128/x"))
                .hasMessageNotContaining("hunter2");
    }
}
